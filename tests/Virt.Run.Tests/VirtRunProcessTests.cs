using Xunit;

namespace Virt.Run.Tests;

/// <summary>Virt.Run as a person runs it: a child process, its output and exit status.</summary>
public sealed class VirtRunProcessTests
{
    [Fact]
    public void UnknownOptionExitsTwoWithOneLine()
    {
        (int code, _, string err) = VirtRunProcess.RunVirt(TimeSpan.FromMinutes(1), "-frobnicate");
        Assert.Equal(2, code);
        Assert.Equal("Virt.Run: unknown option '-frobnicate' (see --help)", err.Trim());
    }

    [Fact]
    public void MissingKernelExitsTwoNamingTheFile()
    {
        (int code, _, string err) = VirtRunProcess.RunVirt(TimeSpan.FromMinutes(1), "-kernel", "/nonexistent/vmlinuz");
        Assert.Equal(2, code);
        Assert.StartsWith("Virt.Run: -kernel: Cannot read the kernel image '/nonexistent/vmlinuz'", err, StringComparison.Ordinal);
        Assert.Single(err.Trim().Split('\n'));
    }

    [Fact]
    public void HelpDescribesTheOptions()
    {
        (int code, string output, _) = VirtRunProcess.RunVirt(TimeSpan.FromMinutes(1), "--help");
        Assert.Equal(0, code);
        foreach (string option in new[] { "-m SIZE", "-bios", "-kernel", "-initrd", "-append", "-nographic", "-serial", "-debugcon", "isa-debug-exit", "-no-reboot", "-cpu", "-d ITEM", "--max-instructions", "--timeout", "--deterministic", "--allow-reset-loop", "--log-level" })
        {
            Assert.Contains(option, output, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void HelpListsEveryAcceptedValueAndExitStatus()
    {
        (_, string output, _) = VirtRunProcess.RunVirt(TimeSpan.FromMinutes(1), "--help");
        foreach (string model in MachineFactory.CpuModels)
        {
            Assert.Contains(model, output, StringComparison.Ordinal);
        }

        foreach ((string name, _, _) in Virt.Run.CommandLine.RunOptionsParser.TraceItems)
        {
            Assert.Contains("  " + name + " ", output, StringComparison.Ordinal);
        }

        foreach (string level in new[] { "trace", "debug", "information", "warning", "error", "critical", "none" })
        {
            Assert.Contains(level, output, StringComparison.Ordinal);
        }

        string[] statusLines = [.. output.Split('\n').SkipWhile(l => !l.StartsWith("Exit status", StringComparison.Ordinal)).Skip(1).Select(l => l.Trim()).Where(l => l.Length > 0)];
        foreach (int status in new[] { Virt.Machine.ProcessExitStatuses.Success, Virt.Machine.ProcessExitStatuses.BadInput, Virt.Machine.ProcessExitStatuses.OtherStop, Virt.Machine.ProcessExitStatuses.GuestCrashed, Virt.Machine.ProcessExitStatuses.LimitReached, Virt.Machine.ProcessExitStatuses.Interrupted })
        {
            Assert.Contains(statusLines, l => l.StartsWith($"{status} ", StringComparison.Ordinal));
        }

        Assert.Contains(statusLines, l => l.StartsWith("odd  (v << 1) | 1", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("2T")]
    [InlineData("99999G")]
    public void OversizedMemoryGivesOneLimitWhateverTheUnit(string size)
    {
        (int code, _, string err) = VirtRunProcess.RunVirt(TimeSpan.FromMinutes(1), "-m", size);
        Assert.Equal(2, code);
        Assert.Equal($"Virt.Run: -m: '{size}' is more than 1 TiB; guest RAM must be a multiple of 4 KiB from 1 MiB to 1 TiB (for example 2048, 512M or 1.5G)", err.Trim());
    }

    [Fact]
    public void BiosRomReportsThroughDebugconAndExitsWithItsCode()
    {
        string dir = Directory.CreateTempSubdirectory("virt-run-").FullName;
        try
        {
            string rom = Path.Combine(dir, "test.rom");
            string log = Path.Combine(dir, "debugcon.txt");
            File.WriteAllBytes(rom, TestRoms.Arithmetic(0x2A));
            (int code, _, _) = VirtRunProcess.RunVirt(TimeSpan.FromMinutes(1), "-bios", rom, "-debugcon", "file:" + log, "-device", "isa-debug-exit,iobase=0x501,iosize=2", "-display", "none", "--timeout", "30");
            Assert.Equal((0x2A << 1) | 1, code);
            // 12! = 479001600 = 1C8CFC00h; the byte sum of "Hello from ROM\n\0" is 1248 = 4E0h.
            Assert.Equal("Hello from ROM\n1C8CFC00\n000004E0\n", File.ReadAllText(log));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void TimeoutExits124()
    {
        string dir = Directory.CreateTempSubdirectory("virt-run-").FullName;
        try
        {
            // A ROM that spins forever.
            byte[] rom = new byte[0x10000];
            byte[] spin = [0xEB, 0xFE]; // JMP $
            spin.CopyTo(rom, 0xFFF0);
            string path = Path.Combine(dir, "spin.rom");
            File.WriteAllBytes(path, rom);
            (int code, _, _) = VirtRunProcess.RunVirt(TimeSpan.FromMinutes(1), "-bios", path, "-display", "none", "--timeout", "0.5");
            Assert.Equal(124, code);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void UnknownCpuModelIsRejected()
    {
        (int code, _, string err) = VirtRunProcess.RunVirt(TimeSpan.FromMinutes(1), "-cpu", "cortex-a53");
        Assert.Equal(2, code);
        Assert.Contains("-cpu: 'cortex-a53' is not a supported model", err, StringComparison.Ordinal);
    }

    [Fact]
    public void DemoGuestRunsByDefaultAndReportsOnSerial()
    {
        (int code, string output, _) = VirtRunProcess.RunVirt(TimeSpan.FromMinutes(1), "-nographic", "-m", "64M", "-cpu", "max", "--deterministic");
        Assert.Equal(0, code);
        Assert.Contains("CPU vendor (CPUID): GenuineIntel", output, StringComparison.Ordinal);
        Assert.Contains("Memory (CMOS): 64 MiB", output, StringComparison.Ordinal);
        Assert.Contains($"CRC-32 of this program: 0x{Virt.Run.Demo.DemoGuest.Crc32(Virt.Run.Demo.DemoGuest.Build()):X8}", output, StringComparison.Ordinal);
    }
}
