using System.Globalization;
using System.Text.RegularExpressions;
using Virt.Machine.Boot;
using Xunit;

namespace Virt.Run.Tests.Acceptance;

/// <summary>
/// Debian's 686 kernel on the ISA board (<c>-M isapc</c>) with <c>--apic --hpet</c>. With <c>lapic</c> on its command line (there are no MP
/// or ACPI tables yet to announce the APIC) it finds and software-enables the local APIC in virtual-wire mode: the PIT's
/// IRQ0 then reaches it from the 8259A through LINT0 in ExtINT mode, and /proc/interrupts shows the timer on XT-PIC
/// with no APIC errors and no spurious interrupts. Linux sets up its local APIC timer only when MP or ACPI tables
/// describe the APIC (native_smp_prepare_cpus skips it in APIC_VIRTUAL_WIRE_NO_CONFIG mode), so local timer
/// interrupts ("LOC") are for the board with the MADT.
/// </summary>
[Trait("Category", "Acceptance")]
public sealed partial class ApicLinuxAcceptanceTests
{

    [Fact]
    public void DebianKernelEnablesTheLocalApicAndKeepsThePicThroughLint0()
    {
        (string kernel, string busybox) = DebianGuests.EnsureI386KernelAndBusybox();
        string initrd = Path.Combine(Path.GetTempPath(), $"virt-{Guid.NewGuid():N}-apic-initramfs.cpio.gz");
        File.WriteAllBytes(initrd, InterruptsInitramfs.Build(busybox));
        try
        {
            (int code, string output, string err) = VirtRunProcess.RunVirt(
                TimeSpan.FromMinutes(15),
                "-M", "isapc", "-m", "256M", "-nographic", "--apic", "--hpet", "-kernel", kernel, "-initrd", initrd,
                "-append", "console=ttyS0 lapic", "--timeout", "840");
            Assert.True(code == 0, $"Virt.Run exited {code}: {err}");
            Assert.Contains("Found and enabled local APIC!", output, StringComparison.Ordinal);
            Assert.Contains("Enabling APIC mode:  Flat.", output, StringComparison.Ordinal);
            Assert.Contains(DebianGuests.Marker, output, StringComparison.Ordinal);
            string interrupts = output[output.IndexOf(InterruptsInitramfs.Begin, StringComparison.Ordinal)..];
            Assert.True(InterruptsInitramfs.Count(TimerLine(), interrupts) > 0, $"no timer interrupts:\n{interrupts}");
            Assert.Equal(0, InterruptsInitramfs.Count(ErrorLine(), interrupts));
            Assert.Equal(0, InterruptsInitramfs.Count(SpuriousLine(), interrupts));
        }
        finally
        {
            File.Delete(initrd);
        }
    }

    [GeneratedRegex(@"\s0:\s+(\d+)\s+XT-PIC\s+timer")]
    private static partial Regex TimerLine();

    [GeneratedRegex(@"ERR:\s+(\d+)")]
    private static partial Regex ErrorLine();

    [GeneratedRegex(@"SPU:\s+(\d+)")]
    private static partial Regex SpuriousLine();
}
