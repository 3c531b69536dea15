using Xunit;

namespace Virt.Run.Tests.Acceptance.CpuDifferential;

/// <summary>Runs a differential kernel in Virt.Run and in QEMU (TCG) and compares what both print, line by line.</summary>
internal static class DiffRunner
{
    /// <summary>The CPU model both run with: the most capable one each offers (see docs/conformance.md).</summary>
    public const string CpuModel = "max";

    /// <summary>The QEMU system emulator for the 32-bit kernels.</summary>
    public const string Qemu32 = "qemu-system-i386";

    /// <summary>The QEMU system emulator for the 64-bit kernels (<see cref="DiffKernel64"/>).</summary>
    public const string Qemu64 = "qemu-system-x86_64";

    /// <summary>Virt.Run's interpreter tier (<c>--cpu-tier interpreter</c>).</summary>
    public const string Interpreter = "interpreter";

    /// <summary>
    /// Virt.Run's compiled tier with every block compiled on its first entry (<c>--cpu-tier compiled --compile-threshold 0</c>):
    /// the kernels run each check once, so at the default threshold nearly all of their code would stay interpreted.
    /// </summary>
    public const string Compiled = "compiled";

    /// <summary>
    /// Runs <paramref name="kernel"/> under one emulator and returns its debug-console lines and exit code; Virt.Run runs
    /// it on <paramref name="tier"/> (<see cref="Interpreter"/> or <see cref="Compiled"/>).
    /// </summary>
    public static (string[] Lines, int ExitCode) Run(bool qemu, byte[] kernel, string qemuCpu = CpuModel, string qemuProgram = Qemu32, string tier = Interpreter)
    {
        string dir = Directory.CreateTempSubdirectory("virt-diff-").FullName;
        try
        {
            string path = Path.Combine(dir, "kernel.mb");
            File.WriteAllBytes(path, kernel);
            string log = Path.Combine(dir, "out.txt");
            string[] common = ["-m", "128M", "-kernel", path, "-device", "isa-debug-exit,iobase=0x501,iosize=2", "-display", "none", "-no-reboot", "-debugcon", "file:" + log];
            int code;
            string err;
            if (qemu)
            {
                string program = VirtRunProcess.EnsureProgram(qemuProgram, "qemu-system-x86");
                (code, _, err) = VirtRunProcess.Run(program, [.. common, "-accel", "tcg", "-cpu", qemuCpu], TimeSpan.FromMinutes(1));
            }
            else
            {
                (code, _, err) = VirtRunProcess.RunVirt(TimeSpan.FromMinutes(1), [.. common, "-cpu", CpuModel, "--timeout", "30", .. TierArguments(tier)]);
            }

            string text = File.Exists(log) ? File.ReadAllText(log) : string.Empty;
            Assert.True(text.Length > 0, $"{(qemu ? "QEMU" : "Virt")} printed nothing (exit {code}): {err}");
            return (text.TrimEnd('\n').Split('\n'), code);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static string[] TierArguments(string tier) => tier switch
    {
        Interpreter => ["--cpu-tier", Interpreter],
        Compiled => ["--cpu-tier", Compiled, "--compile-threshold", "0"],
        _ => throw new ArgumentOutOfRangeException(nameof(tier), tier, "not a tier (interpreter, compiled)"),
    };

    /// <summary>The line printed for the check tagged <paramref name="tag"/>.</summary>
    public static string Line(string[] lines, string tag) => lines.Single(l => l.StartsWith(tag + " ", StringComparison.Ordinal));

    /// <summary>Fault-class exceptions (other than #DB) whose pushed EFLAGS.RF must be 1.</summary>
    private static readonly string[] FaultVectors = ["00000000", "00000006", "0000000A", "0000000B", "0000000C", "0000000D", "0000000E", "00000011", "00000007", "00000013"];

    /// <summary>
    /// Intel SDM Vol. 3B, 17.3.1.1: for any fault-class exception except an instruction-breakpoint #DB, the RF value
    /// pushed is 1. QEMU's TCG pushes the current RF (0) instead, so RF is compared only for other events; Virt's value for
    /// faults is checked against the manual here.
    /// </summary>
    private static void CheckResumeFlag(string virtLine)
    {
        string? vector = Vector(virtLine);
        if (vector is not null && FaultVectors.Contains(vector))
        {
            Assert.True(virtLine.EndsWith("RF1", StringComparison.Ordinal), "a fault must push RF = 1 (SDM 17.3.1.1): " + virtLine);
        }
    }

    private static string? Vector(string line)
    {
        string[] words = line.Split(' ');
        int x = Array.IndexOf(words, "X");
        return x >= 0 && x + 1 < words.Length ? words[x + 1] : null;
    }

    private static string WithoutFaultRf(string line) =>
        Vector(line) is { } v && FaultVectors.Contains(v) && line.Length > 4 ? line[..^4] : line;

    /// <summary>
    /// Runs the kernel in both (Virt.Run on <paramref name="tier"/>) and asserts identical output. Lines whose first word is in <paramref name="excluded"/> are
    /// not compared (each exclusion is justified where it is passed); they must still be present in both outputs.
    /// </summary>
    public static (string[] Virt, string[] Qemu) Compare(string tier, byte[] kernel, params string[] excluded) => CompareWith(Qemu32, tier, kernel, excluded);

    /// <summary>As <see cref="Compare"/>, for a 64-bit kernel: QEMU runs as <see cref="Qemu64"/>.</summary>
    public static (string[] Virt, string[] Qemu) Compare64(string tier, byte[] kernel, params string[] excluded) => CompareWith(Qemu64, tier, kernel, excluded);

    private static (string[] Virt, string[] Qemu) CompareWith(string qemuProgram, string tier, byte[] kernel, string[] excluded)
    {
        (string[] virt, int virtCode) = Run(false, kernel, tier: tier);
        (string[] qemu, int qemuCode) = Run(true, kernel, qemuProgram: qemuProgram);
        string both = "Virt:\n" + string.Join('\n', virt) + "\nQEMU:\n" + string.Join('\n', qemu);
        if (Environment.GetEnvironmentVariable("VIRT_DIFF_DUMP") is { Length: > 0 } dump)
        {
            File.AppendAllText(dump, both + "\n");
        }

        Assert.True(qemu.Length > 0 && qemu[^1] == "END", "QEMU did not finish the kernel\n" + both);
        Assert.True(virt.Length == qemu.Length, "line counts differ\n" + both);
        for (int i = 0; i < qemu.Length; i++)
        {
            string tag = qemu[i].Split(' ')[0];
            Assert.True(virt[i].Split(' ')[0] == tag, $"line {i}: tags differ\n" + both);
            CheckResumeFlag(virt[i]);
            if (!excluded.Contains(tag))
            {
                Assert.True(WithoutFaultRf(virt[i]) == WithoutFaultRf(qemu[i]), $"line {i} differs:\n  Virt: {virt[i]}\n  QEMU: {qemu[i]}\n" + both);
            }
        }

        Assert.Equal(0x21, qemuCode);
        Assert.Equal(qemuCode, virtCode);
        return (virt, qemu);
    }
}
