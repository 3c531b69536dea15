using Xunit;

namespace Virt.Run.Tests.Acceptance;

/// <summary>
/// Debian's stock linux-image-amd64 (its bzImage, decompressed by the kernel itself, which enters IA-32e mode from the
/// 32-bit boot protocol entry) with the busybox initramfs built here: Virt.Run boots it to the marker on the PC board and
/// the guest powers off through ACPI with status 0. QEMU (TCG) boots the same files in the same run for the time comparison.
/// </summary>
[Trait("Category", "Acceptance")]
public sealed class LinuxAmd64BootAcceptanceTests
{
    [Fact]
    public void VirtBootsTheDebianAmd64KernelToTheInitramfsMarkerAndPowersOff()
    {
        (string kernel, string busybox) = DebianGuests.EnsureAmd64KernelAndBusybox();
        string initrd = Path.Combine(Path.GetTempPath(), $"virt-{Guid.NewGuid():N}-initramfs64.cpio.gz");
        File.WriteAllBytes(initrd, DebianGuests.BuildInitramfs(busybox));
        try
        {
            string[] guest = ["-m", "256M", "-nographic", "-kernel", kernel, "-initrd", initrd, "-append", "console=ttyS0"];
            var watch = System.Diagnostics.Stopwatch.StartNew();
            (int code, string output, string err) = VirtRunProcess.RunVirt(TimeSpan.FromMinutes(15), [.. guest, "-M", "pc", "--timeout", "840"]);
            TimeSpan virtTime = watch.Elapsed;
            Assert.Contains("Linux version", output, StringComparison.Ordinal);
            Assert.Contains("-amd64", output, StringComparison.Ordinal);
            Assert.Contains(DebianGuests.Marker, output, StringComparison.Ordinal);
            Assert.True(code == 0, $"Virt.Run exited {code}: {err}");

            string qemu = VirtRunProcess.EnsureProgram("qemu-system-x86_64", "qemu-system-x86");
            watch.Restart();
            (int qemuCode, string qemuOutput, _) = VirtRunProcess.Run(qemu, [.. guest, "-no-reboot", "-accel", "tcg"], TimeSpan.FromMinutes(5));
            TimeSpan qemuTime = watch.Elapsed;
            Assert.Contains(DebianGuests.Marker, qemuOutput, StringComparison.Ordinal);
            Assert.Equal(0, qemuCode);
            string line = $"LINUX-AMD64-BOOT-TIME virt={virtTime.TotalSeconds:0.0}s qemu-tcg={qemuTime.TotalSeconds:0.0}s ratio={virtTime.TotalSeconds / qemuTime.TotalSeconds:0.0}";
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
}
