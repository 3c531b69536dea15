using Xunit;

namespace Virt.Run.Tests.Acceptance;

/// <summary>
/// Acceptance case 2 of the machine issue: a bare-metal ROM built here runs through -bios in Virt.Run and in
/// qemu-system-x86_64 with the same options, and both give the same debugcon output and exit status.
/// Installs qemu-system-x86 from Debian when it is missing and the test runs as root (CI).
/// </summary>
[Trait("Category", "Acceptance")]
public sealed class QemuComparisonTests
{
    [Fact]
    public void BareMetalRomMatchesQemu()
    {
        string qemu = VirtRunProcess.EnsureProgram("qemu-system-x86_64", "qemu-system-x86");
        string dir = Directory.CreateTempSubdirectory("virt-qemu-").FullName;
        try
        {
            string rom = Path.Combine(dir, "test.rom");
            File.WriteAllBytes(rom, TestRoms.Arithmetic(0x11));
            string[] common = ["-bios", rom, "-device", "isa-debug-exit,iobase=0x501,iosize=2", "-display", "none", "-no-reboot"];
            string virtLog = Path.Combine(dir, "virt.txt");
            string qemuLog = Path.Combine(dir, "qemu.txt");
            (int virtCode, _, string virtErr) = VirtRunProcess.RunVirt(TimeSpan.FromMinutes(2), [.. common, "-debugcon", "file:" + virtLog, "--timeout", "60"]);
            (int qemuCode, _, string qemuErr) = VirtRunProcess.Run(qemu, [.. common, "-debugcon", "file:" + qemuLog, "-accel", "tcg", "-m", "16"], TimeSpan.FromMinutes(2));
            Assert.True(File.Exists(qemuLog), "QEMU wrote no debugcon output: " + qemuErr);
            Assert.Equal(File.ReadAllText(qemuLog), File.ReadAllText(virtLog));
            Assert.Equal(qemuCode, virtCode);
            Assert.Equal((0x11 << 1) | 1, virtCode);
            Assert.True(virtErr.Length < 10_000);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
