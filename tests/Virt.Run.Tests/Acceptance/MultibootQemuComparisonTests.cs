using Xunit;

namespace Virt.Run.Tests.Acceptance;

/// <summary>A Multiboot kernel built here boots through -kernel in Virt.Run and in QEMU with the same result.</summary>
[Trait("Category", "Acceptance")]
public sealed class MultibootQemuComparisonTests
{
    [Fact]
    public void MultibootKernelMatchesQemu()
    {
        string qemu = VirtRunProcess.EnsureProgram("qemu-system-i386", "qemu-system-x86");
        string dir = Directory.CreateTempSubdirectory("virt-mb-").FullName;
        try
        {
            string kernel = Path.Combine(dir, "kernel.mb");
            File.WriteAllBytes(kernel, TestKernels.Multiboot(0x22));
            string[] common = ["-m", "128M", "-kernel", kernel, "-append", "hello multiboot", "-device", "isa-debug-exit,iobase=0x501,iosize=2", "-display", "none", "-no-reboot"];
            string virtLog = Path.Combine(dir, "virt.txt");
            string qemuLog = Path.Combine(dir, "qemu.txt");
            (int virtCode, _, string virtErr) = VirtRunProcess.RunVirt(TimeSpan.FromMinutes(2), [.. common, "-debugcon", "file:" + virtLog, "--timeout", "60"]);
            (int qemuCode, _, string qemuErr) = VirtRunProcess.Run(qemu, [.. common, "-debugcon", "file:" + qemuLog, "-accel", "tcg"], TimeSpan.FromMinutes(2));
            Assert.True(File.Exists(qemuLog), "QEMU wrote no debugcon output: " + qemuErr);
            string[] expected = File.ReadAllText(qemuLog).Split(' ');
            string[] actual = (File.Exists(virtLog) ? File.ReadAllText(virtLog) : virtErr).Split(' ');
            Assert.Equal(kernel + " hello multiboot\n", string.Join(' ', expected[3..]));
            Assert.Equal(expected[0], actual[0]); // info flags
            Assert.Equal(expected[1], actual[1]); // mem_lower: 639 KiB
            Assert.Equal(expected[3..], actual[3..]); // command line

            // mem_upper differs by design: QEMU's multiboot option ROM takes it from SeaBIOS, which reserves the top
            // 128 KiB of RAM for its own tables; Virt boots without a BIOS and reports the RAM above 1 MiB up to the
            // ACPI tables it places at the top (the pc board's).
            Assert.InRange(Convert.ToUInt32(actual[2], 16), (128u - 2) * 1024, (128u - 1) * 1024);
            Assert.InRange(Convert.ToUInt32(expected[2], 16), (128u - 2) * 1024, (128u - 1) * 1024);
            Assert.Equal(qemuCode, virtCode);
            Assert.Equal((0x22 << 1) | 1, virtCode);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
