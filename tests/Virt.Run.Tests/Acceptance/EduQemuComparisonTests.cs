using Xunit;

namespace Virt.Run.Tests.Acceptance;

/// <summary>The edu driver kernel prints the same under Virt.Run and under QEMU with <c>-device edu</c>.</summary>
[Trait("Category", "Acceptance")]
public sealed class EduQemuComparisonTests
{
    [Fact]
    public void EduKernelMatchesQemu()
    {
        string qemu = VirtRunProcess.EnsureProgram("qemu-system-x86_64", "qemu-system-x86");
        string dir = Directory.CreateTempSubdirectory("virt-edu-").FullName;
        try
        {
            string kernel = Path.Combine(dir, "edu.mb");
            File.WriteAllBytes(kernel, EduKernel.Build());
            string[] common = ["-M", "pc", "-m", "128M", "-kernel", kernel, "-device", "edu,addr=5", "-device", "isa-debug-exit,iobase=0x501,iosize=2", "-display", "none", "-no-reboot"];
            string virtLog = Path.Combine(dir, "virt.txt");
            string qemuLog = Path.Combine(dir, "qemu.txt");
            (int virtCode, _, string virtErr) = VirtRunProcess.RunVirt(TimeSpan.FromMinutes(2), [.. common, "-debugcon", "file:" + virtLog, "--timeout", "60"]);
            (int qemuCode, _, string qemuErr) = VirtRunProcess.Run(qemu, [.. common, "-debugcon", "file:" + qemuLog, "-accel", "tcg", "-net", "none"], TimeSpan.FromMinutes(2));
            Assert.True(File.Exists(qemuLog), "QEMU wrote no debugcon output: " + qemuErr);
            string expected = File.ReadAllText(qemuLog);
            string actual = File.Exists(virtLog) ? File.ReadAllText(virtLog) : virtErr;
            Assert.Equal(EduKernel.Fields.Length, expected.TrimEnd('\n', ' ').Split(' ').Length);
            Assert.Equal(expected, actual);
            Assert.Equal(qemuCode, virtCode);
            Assert.Equal(1, virtCode);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
