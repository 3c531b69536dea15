using System.Text.RegularExpressions;

namespace Virt.Run.Tests.Acceptance;

/// <summary>
/// Normalises a Linux boot console so that Virt's and QEMU's can be compared line by line: the lines from
/// "Linux version" up to the initramfs marker, without printk timestamps, and without the lines whose content depends on
/// timing or on a documented difference between the two machines (<see cref="ExpectedDifferences"/>); the lines of
/// asynchronous kernel work (<see cref="AsynchronousLines"/>) are compared without their position.
/// </summary>
internal static partial class LinuxConsoleComparison
{
    /// <summary>Lines dropped from both consoles, each with the reason (docs/boot.md lists them too).</summary>
    public static readonly IReadOnlyList<(Regex Pattern, string Reason)> ExpectedDifferences =
    [
        (new Regex(@"BogoMIPS|lpj=|Calibrating delay", RegexOptions.IgnoreCase), "timing: the delay loop is calibrated against host time"),
        (new Regex(@"\btsc\b|TSC"), "timing: the TSC frequency and its calibration against the PIT are measured in host time"),
        (new Regex(@"clocksource|sched_clock|clockevent|hpet|PIT|APIC timer|timekeeping|Switched to", RegexOptions.IgnoreCase), "timing: clock and timer selection and rating depend on the measured frequencies"),
        (new Regex(@"Unstable clock|trace_clock|local clock|on the kernel command line"), "timing: the kernel's clock-stability check compares clocks that run in host time"),
        (new Regex(@"PM-Timer"), "timing: the kernel checks the ACPI PM timer's rate against the PIT in host time (QEMU under load reports an invalid rate)"),
        (new Regex(@"\bMHz\b|\bns\b|\busecs?\b|\bms\b|jiffies|took \d", RegexOptions.IgnoreCase), "timing: durations and frequencies"),
        (new Regex(@"^random:|crng|entropy", RegexOptions.IgnoreCase), "timing: the entropy pool fills with timing jitter"),
        (new Regex(@"^input: .* as /devices/"), "timing: input device numbers are taken when a driver allocates its device (input_allocate_device), and the PS/2 keyboard and mouse probes run asynchronously, so they number in either order"),
        (new Regex(@"^audit: type=2000"), "timing: the audit record carries the wall-clock time read from the RTC"),
        (new Regex(@"^Memory: |Freeing |reserved|KiB|\bkB\b|\bMB\b|zone|pages|last_pfn|LOWMEM|low ram|\[mem 0x|RAMDISK|Initmem", RegexOptions.IgnoreCase), "memory amounts: QEMU's SeaBIOS reserves the top 128 KiB of RAM for its tables, so QEMU's RAM map, zones and initrd placement end 128 KiB lower than Virt's"),
        (new Regex(@"BIOS|e820|DMI|SMBIOS|ACPI|acpi|PCI|pci|PnP|PNP|pnp|ISA|Hypervisor|rtc_cmos|RTC|MP-table|i8042: P"), "firmware: QEMU's SeaBIOS provides ACPI, PCI, MP, DMI and PnP tables; Virt boots the kernel directly, without firmware tables, so the kernel probes the i8042 directly"),
        (new Regex(@"APIC|apic|TIMER: vector|nr_irqs|IRQ|irq"), "board: Virt's PC has the 8259 pair only (no local APIC or I/O APIC), so the kernel stays in PIC mode with fewer interrupt numbers"),
        (new Regex(@"^Console: colour"), "board: without a BIOS the boot parameters describe no VGA text mode, so the kernel starts the dummy console"),
        (new Regex(@"serial|ttyS|8250|console \[|printk: console", RegexOptions.IgnoreCase), "board: the UART is probed and registered at different points of the two device lists"),
        (new Regex(@"CPU|cpu|x86/fpu|sigframe|smpboot|Spectre|Mitigation|MDS|MMIO Stale|RETBleed|SRBDS|GDS|Register File|ITS:|mce|MCE|microcode|Notice: NX"), "CPU model: the CPUID models differ by design (docs/cpuid.md): vendor, family, feature bits (QEMU's default CPU has no NX or XSAVE, so its signal frame is 64 bytes smaller) and so the vulnerability report"),
        (new Regex(@"Performance Events|PMU|perfctr|hardware sampling"), "CPU model: QEMU reports a hypervisor and the kernel skips the PMU; Virt's model has no performance-monitoring MSRs"),
        (new Regex(@"^\s*$"), "empty lines"),
    ];

    /// <summary>
    /// Lines printed by work the kernel runs asynchronously, so that they land anywhere among the initcalls' lines: since
    /// Linux 5.12 the initramfs is unpacked in an async task (<c>initramfs_async</c> defaults to on). They are kept, but
    /// taken out of the ordered sequence and compared, sorted, just before the marker.
    /// </summary>
    public static readonly IReadOnlyList<(Regex Pattern, string Reason)> AsynchronousLines =
    [
        (new Regex(@"unpack rootfs image|initramfs unpacking|Unpacking initramfs", RegexOptions.IgnoreCase), "the initramfs is unpacked by an async task (init/initramfs.c, initramfs_async) that runs beside the initcalls"),
    ];

    /// <summary>The normalised lines of <paramref name="console"/> (see the class summary), with the lines dropped.</summary>
    public static IReadOnlyList<string> Normalise(string console, string marker)
    {
        var lines = new List<string>();
        var unordered = new List<string>();
        bool started = false;
        foreach (string line in KernelLines(console))
        {
            started |= line.Contains("Linux version", StringComparison.Ordinal);
            if (!started)
            {
                continue;
            }

            if (line.Contains(marker, StringComparison.Ordinal))
            {
                lines.AddRange(unordered.Order(StringComparer.Ordinal));
                unordered.Clear();
                lines.Add(line);
                break;
            }

            if (AsynchronousLines.Any(d => d.Pattern.IsMatch(line)))
            {
                unordered.Add(line);
            }
            else if (!ExpectedDifferences.Any(d => d.Pattern.IsMatch(line)))
            {
                lines.Add(line);
            }
        }

        lines.AddRange(unordered.Order(StringComparer.Ordinal));
        return lines;
    }

    /// <summary>The lines of a serial console without their carriage returns, printk timestamps and trailing blanks.</summary>
    /// <param name="console">The console output.</param>
    /// <returns>The lines, in order.</returns>
    public static IEnumerable<string> KernelLines(string console) =>
        console.Replace("\r", string.Empty, StringComparison.Ordinal).Split('\n').Select(raw => Timestamp().Replace(raw, string.Empty).TrimEnd());

    /// <summary>A printk timestamp such as "[    0.123456] ", with whatever the firmware printed before it on that line.</summary>
    [GeneratedRegex(@"^.*?\[\s*\d+\.\d+\]\s?")]
    private static partial Regex Timestamp();
}
