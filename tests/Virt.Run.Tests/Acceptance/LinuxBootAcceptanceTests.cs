using System.Buffers.Binary;
using System.Text;
using Virt.Machine;
using Virt.Memory;
using Xunit;

namespace Virt.Run.Tests.Acceptance;

/// <summary>
/// Debian's linux-image-686 kernel with an initramfs built here: our loader must place it exactly as the boot
/// protocol says, and QEMU, booting the same files, must reach the initramfs marker (which checks the cpio writer
/// and the test guest itself against a real kernel).
/// </summary>
[Trait("Category", "Acceptance")]
public sealed class LinuxBootAcceptanceTests
{
    [Fact]
    public void DebianKernelLoadsIntoAVirtMachine()
    {
        (string kernel, string busybox) = DebianGuests.EnsureI386KernelAndBusybox();
        string initrd = WriteTemp(DebianGuests.BuildInitramfs(busybox), "initramfs.cpio.gz");
        try
        {
            using Virt.Machine.Machine machine = new MachineBuilder()
                .WithMemorySize(256UL << 20)
                .WithKernel(kernel, initrd, "console=ttyS0")
                .Build();
            PhysicalMemoryMap memory = machine.Memory;
            // ESI points at the zero page; its copy of the setup header carries "HdrS" at 0x202.
            uint zeroPage = (uint)machine.Cpu.GetRegister(Virt.Cpu.GeneralRegister.Rsi);
            Assert.Equal(0x53726448u, memory.ReadDoubleWord(new PhysicalAddress(zeroPage + 0x202)));
            Assert.Equal(0xFF, memory.ReadByte(new PhysicalAddress(zeroPage + 0x210))); // type_of_loader
            uint cmdLine = memory.ReadDoubleWord(new PhysicalAddress(zeroPage + 0x228));
            byte[] text = new byte[13];
            memory.Read(new PhysicalAddress(cmdLine), text);
            Assert.Equal("console=ttyS0", Encoding.ASCII.GetString(text));
            uint ramdisk = memory.ReadDoubleWord(new PhysicalAddress(zeroPage + 0x218));
            uint ramdiskSize = memory.ReadDoubleWord(new PhysicalAddress(zeroPage + 0x21C));
            Assert.Equal((uint)new FileInfo(initrd).Length, ramdiskSize);
            Assert.Equal(0u, ramdisk % 4096);
            Assert.True(ramdisk + ramdiskSize <= 256u << 20);
            byte[] gzipMagic = new byte[2];
            memory.Read(new PhysicalAddress(ramdisk), gzipMagic);
            Assert.Equal([0x1F, 0x8B], gzipMagic);
            // The protected-mode kernel sits at 1 MiB and the CPU enters it in flat 32-bit protected mode.
            byte[] kernelFile = File.ReadAllBytes(kernel);
            int setupSectors = kernelFile[0x1F1] == 0 ? 4 : kernelFile[0x1F1];
            int payload = (setupSectors + 1) * 512;
            Assert.Equal(BinaryPrimitives.ReadUInt32LittleEndian(kernelFile.AsSpan(payload)), memory.ReadDoubleWord(new PhysicalAddress(0x100000)));
            Assert.Equal(0x100000u, machine.Cpu.Eip);
            Assert.True(machine.Cpu.IsProtectedMode);
            Assert.True(memory.ReadByte(new PhysicalAddress(zeroPage + 0x1E8)) >= 3); // e820 entries
        }
        finally
        {
            File.Delete(initrd);
        }
    }

    [Fact]
    public void QemuBootsTheDebianKernelToTheInitramfsMarker()
    {
        string qemu = VirtRunProcess.EnsureProgram("qemu-system-i386", "qemu-system-x86");
        (string kernel, string busybox) = DebianGuests.EnsureI386KernelAndBusybox();
        string initrd = WriteTemp(DebianGuests.BuildInitramfs(busybox), "initramfs.cpio.gz");
        try
        {
            (int code, string output, string err) = VirtRunProcess.Run(
                qemu,
                ["-m", "256M", "-nographic", "-kernel", kernel, "-initrd", initrd, "-append", "console=ttyS0", "-no-reboot", "-accel", "tcg"],
                TimeSpan.FromMinutes(5));
            Assert.Contains(DebianGuests.Marker, output, StringComparison.Ordinal);
            Assert.Contains("Linux version", output, StringComparison.Ordinal);
            Assert.True(code == 0, $"QEMU exited {code}: {err}");
        }
        finally
        {
            File.Delete(initrd);
        }
    }

    /// <summary>
    /// Acceptance case 1 of the machine issue: Virt.Run boots Debian's 686 kernel with the initramfs to the marker and
    /// exits 0; the same files boot in QEMU (TCG) for the boot-time comparison (case 3), printed for docs/performance.md.
    /// </summary>
    [Fact]
    public void VirtBootsTheDebianKernelToTheInitramfsMarker()
    {
        (string kernel, string busybox) = DebianGuests.EnsureI386KernelAndBusybox();
        string initrd = WriteTemp(DebianGuests.BuildInitramfs(busybox), "initramfs.cpio.gz");
        try
        {
            var watch = System.Diagnostics.Stopwatch.StartNew();
            (int code, string output, string err) = VirtRunProcess.RunVirt(
                TimeSpan.FromMinutes(15),
                "-m", "256M", "-nographic", "-kernel", kernel, "-initrd", initrd, "-append", "console=ttyS0", "--timeout", "840");
            TimeSpan virtTime = watch.Elapsed;
            Assert.Contains("Linux version", output, StringComparison.Ordinal);
            Assert.Contains(DebianGuests.Marker, output, StringComparison.Ordinal);
            Assert.True(code == 0, $"Virt.Run exited {code}: {err}");

            string qemu = VirtRunProcess.EnsureProgram("qemu-system-i386", "qemu-system-x86");
            watch.Restart();
            (int qemuCode, string qemuOutput, _) = VirtRunProcess.Run(
                qemu,
                ["-m", "256M", "-nographic", "-kernel", kernel, "-initrd", initrd, "-append", "console=ttyS0", "-no-reboot", "-accel", "tcg"],
                TimeSpan.FromMinutes(5));
            TimeSpan qemuTime = watch.Elapsed;
            Assert.Contains(DebianGuests.Marker, qemuOutput, StringComparison.Ordinal);
            Assert.Equal(0, qemuCode);
            string line = $"LINUX-BOOT-TIME virt={virtTime.TotalSeconds:0.0}s qemu-tcg={qemuTime.TotalSeconds:0.0}s ratio={virtTime.TotalSeconds / qemuTime.TotalSeconds:0.0}";
            Console.WriteLine(line);
            if (Environment.GetEnvironmentVariable("VIRT_BOOT_TIME_REPORT") is { Length: > 0 } report)
            {
                File.AppendAllText(report, line + Environment.NewLine);
            }
        }
        finally
        {
            File.Delete(initrd);
        }
    }

    /// <summary>
    /// Virt's console equals QEMU's (TCG) for the same kernel, initramfs and command line, line by line, once both are
    /// normalised: printk timestamps stripped and the timing- and board-dependent lines dropped, each pattern with its
    /// reason in <see cref="LinuxConsoleComparison.ExpectedDifferences"/>. Both must reach the initramfs marker.
    /// </summary>
    [Fact]
    public void VirtAndQemuPrintTheSameTimingIndependentConsoleLines()
    {
        (string kernel, string busybox) = DebianGuests.EnsureI386KernelAndBusybox();
        string initrd = WriteTemp(DebianGuests.BuildInitramfs(busybox), "initramfs.cpio.gz");
        try
        {
            // One CPU, the same RAM and command line for both; quiet=off so that every printk line is compared.
            string[] guest = ["-m", "256M", "-nographic", "-kernel", kernel, "-initrd", initrd, "-append", "console=ttyS0"];
            (int code, string virtOutput, string err) = VirtRunProcess.RunVirt(TimeSpan.FromMinutes(15), [.. guest, "--timeout", "840"]);
            Assert.True(code == 0, $"Virt.Run exited {code}: {err}");
            string qemu = VirtRunProcess.EnsureProgram("qemu-system-i386", "qemu-system-x86");
            (int qemuCode, string qemuOutput, string qemuErr) = VirtRunProcess.Run(qemu, [.. guest, "-no-reboot", "-accel", "tcg"], TimeSpan.FromMinutes(5));
            Assert.True(qemuCode == 0, $"QEMU exited {qemuCode}: {qemuErr}");
            if (Environment.GetEnvironmentVariable("VIRT_CONSOLE_DUMP") is { Length: > 0 } dump)
            {
                File.WriteAllText(dump + ".virt", virtOutput);
                File.WriteAllText(dump + ".qemu", qemuOutput);
            }

            IReadOnlyList<string> virtLines = LinuxConsoleComparison.Normalise(virtOutput, DebianGuests.Marker);
            IReadOnlyList<string> qemuLines = LinuxConsoleComparison.Normalise(qemuOutput, DebianGuests.Marker);
            Assert.Contains(DebianGuests.Marker, virtLines[^1], StringComparison.Ordinal);
            Assert.Contains(DebianGuests.Marker, qemuLines[^1], StringComparison.Ordinal);
            Assert.True(virtLines.Count > 40, $"only {virtLines.Count} lines left to compare");
            int first = Enumerable.Range(0, Math.Min(virtLines.Count, qemuLines.Count)).FirstOrDefault(i => virtLines[i] != qemuLines[i], -1);
            Assert.True(
                first < 0 && virtLines.Count == qemuLines.Count,
                first < 0
                    ? $"Virt printed {virtLines.Count} compared lines, QEMU {qemuLines.Count}"
                    : $"line {first} differs:\n  virt: {virtLines[first]}\n  qemu: {qemuLines[first]}");
        }
        finally
        {
            File.Delete(initrd);
        }
    }

    private static string WriteTemp(byte[] bytes, string name)
    {
        string path = Path.Combine(Path.GetTempPath(), $"virt-{Guid.NewGuid():N}-{name}");
        File.WriteAllBytes(path, bytes);
        return path;
    }
}
