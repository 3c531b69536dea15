using Virt.Run.Tests.Acceptance;
using Xunit;

namespace Virt.Run.Tests;

/// <summary>The console normaliser of the Linux acceptance comparison against QEMU, on hand-written consoles.</summary>
public sealed class LinuxConsoleComparisonTests
{
    private const string Marker = "MARKER: up";

    [Fact]
    public void Timestamps_firmware_noise_and_everything_outside_the_boot_are_removed()
    {
        const string console = "SeaBIOS (version 1.16)\r\n"
            + "Booting from ROM...\r\n"
            + "Probing EDD... \u001b[2J[    0.000000] Linux version 6.1.0 (gcc)\r\n"
            + "[    0.300000] NET: Registered PF_INET protocol family\r\n"
            + "[    0.812345] Run /init as init process\r\n"
            + "MARKER: up\r\n"
            + "[    1.000000] reboot: Power down\r\n";
        Assert.Equal(
            ["Linux version 6.1.0 (gcc)", "NET: Registered PF_INET protocol family", "Run /init as init process", "MARKER: up"],
            LinuxConsoleComparison.Normalise(console, Marker));
    }

    [Theory]
    [InlineData("[    0.004000] Calibrating delay loop (skipped), value calculated using timer frequency.. 5986.87 BogoMIPS (lpj=11973748)")]
    [InlineData("[    0.000000] tsc: Fast TSC calibration using PIT")]
    [InlineData("[    1.204000] clocksource: Switched to clocksource tsc")]
    [InlineData("[    0.000000] Memory: 234516K/261624K available (9271K kernel code, 1234K rwdata)")]
    [InlineData("[    0.250000] PM-Timer running at invalid rate: 123% of normal - aborting.")]
    [InlineData("[    0.000000] last_pfn = 0xffe0 max_arch_pfn = 0x100000")]
    public void Lines_on_the_expected_difference_list_are_dropped(string line)
    {
        Assert.Equal(
            ["Linux version 6.1.0", Marker],
            LinuxConsoleComparison.Normalise($"[    0.000000] Linux version 6.1.0\n{line}\n{Marker}\n", Marker));
    }

    [Fact]
    public void Every_expected_difference_gives_its_reason()
    {
        Assert.All(LinuxConsoleComparison.ExpectedDifferences, d => Assert.True(d.Reason.Length > 10, d.Pattern.ToString()));
    }

    [Fact]
    public void Asynchronous_lines_are_kept_but_compared_without_their_position()
    {
        const string early = "[    0.1] Linux version 6.1.0\n[    0.2] Trying to unpack rootfs image as initramfs...\n[    0.3] NET: Registered PF_INET protocol family\n[    0.4] Initialise system trusted keyrings\n" + Marker + "\n";
        const string late = "[    0.1] Linux version 6.1.0\n[    0.3] NET: Registered PF_INET protocol family\n[    0.4] Initialise system trusted keyrings\n[    0.5] Trying to unpack rootfs image as initramfs...\n" + Marker + "\n";
        IReadOnlyList<string> a = LinuxConsoleComparison.Normalise(early, Marker);
        Assert.Equal(a, LinuxConsoleComparison.Normalise(late, Marker));
        Assert.Equal("Trying to unpack rootfs image as initramfs...", a[^2]);
        Assert.Equal(Marker, a[^1]);
        Assert.NotEqual(a, LinuxConsoleComparison.Normalise(late.Replace("Trying to unpack", "Failed to unpack", StringComparison.Ordinal), Marker));
    }

    [Fact]
    public void A_kernel_warning_is_not_on_the_list()
    {
        // The comparison found Virt's #GP on MSR 8Bh this way: such lines must survive normalisation.
        const string warning = "unchecked MSR access error: WRMSR to 0x8b (tried to write 0x0000000000000000) at rIP: 0xce03739b";
        Assert.Contains(warning, LinuxConsoleComparison.Normalise($"[    0.000000] Linux version 6.1.0\n[    0.000000] {warning}\n{Marker}\n", Marker));
    }
}
