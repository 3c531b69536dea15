using System.Globalization;
using System.Text.RegularExpressions;
using Virt.Machine.Boot;
using Xunit;

namespace Virt.Run.Tests.Acceptance;

/// <summary>
/// Debian's 686 kernel on the full pc board (<c>-M pc</c>: PCI, local APIC, I/O APIC, HPET, PIIX4 PM and the ACPI
/// tables placed for the direct kernel boot). The kernel must find the ACPI tables and the I/O APIC, route interrupts
/// through the I/O APIC, run its timer through the local APIC ("LOC" counting in /proc/interrupts) and power off
/// through ACPI S5 (PM1a_CNT SLP_EN), which ends the run with status 0. Its board lines (MADT entries, I/O APIC, timer
/// pin, PCI interrupt links, HPET) must equal QEMU's <c>-M pc</c> boot of the same kernel, apart from
/// <see cref="BoardDifferences"/> (docs/apic.md lists them with the reasons).
/// </summary>
[Trait("Category", "Acceptance")]
public sealed partial class PcLinuxAcceptanceTests
{

    /// <summary>Rewrites applied to both consoles' board lines before they are compared, each with its reason.</summary>
    private static readonly (Regex Pattern, string Replacement, string Reason)[] BoardDifferences =
    [
        (new Regex(@"(IOAPIC\[0\]: apic_id 0), version \d+,"), "$1, version N,", "Virt's I/O APIC reports version 11h (the 82093AA's); QEMU's reports 20h (its newer model with the EOI register)"),
    ];

    [Fact]
    public void DebianKernelFindsAcpiAndTheIoApicRunsTheLocalApicTimerAndPowersOffThroughAcpi()
    {
        (string kernel, string busybox) = DebianGuests.EnsureI386KernelAndBusybox();
        string initrd = Path.Combine(Path.GetTempPath(), $"virt-{Guid.NewGuid():N}-pc-initramfs.cpio.gz");
        File.WriteAllBytes(initrd, InterruptsInitramfs.Build(busybox));
        try
        {
            string[] guest = ["-M", "pc", "-m", "256M", "-nographic", "-kernel", kernel, "-initrd", initrd, "-append", "console=ttyS0", "-no-reboot"];
            (int code, string output, string err) = VirtRunProcess.RunVirt(TimeSpan.FromMinutes(15), [.. guest, "--timeout", "840"]);
            Assert.True(code == 0, $"Virt.Run exited {code}: {err}\n{output}");

            // The tables, found where the direct boot put them: the RSDP in the BIOS area, the rest at the top of RAM.
            Assert.Matches(@"ACPI: RSDP 0x00000000000F0000 000024 \(v02 VIRT", output);
            foreach (string table in new[] { "XSDT", "FACP", "DSDT", "FACS", "APIC", "HPET" })
            {
                Assert.Matches($@"ACPI: {table} 0x[0-9A-F]{{16}} ", output);
            }

            Assert.Contains("IOAPIC[0]: apic_id 0, version 17, address 0xfec00000, GSI 0-23", output, StringComparison.Ordinal);
            Assert.Contains("ACPI: Using IOAPIC for interrupt routing", output, StringComparison.Ordinal);
            Assert.Contains("..TIMER: vector=0x30 apic1=0 pin1=2 apic2=-1 pin2=-1", output, StringComparison.Ordinal);
            Assert.Contains("ACPI: PM-Timer IO Port: 0x608", output, StringComparison.Ordinal);
            Assert.Contains(DebianGuests.Marker, output, StringComparison.Ordinal);

            string interrupts = output[output.IndexOf(InterruptsInitramfs.Begin, StringComparison.Ordinal)..output.IndexOf(DebianGuests.Marker, StringComparison.Ordinal)];
            Assert.True(InterruptsInitramfs.Count(LocalTimerLine(), interrupts) > 0, $"the local APIC timer did not interrupt:\n{interrupts}");
            Assert.Matches(IoApicTimerLine(), interrupts);
            Assert.Equal(0, InterruptsInitramfs.Count(ErrorLine(), interrupts));

            // poweroff -f: the kernel enters S5 through the FADT's PM1a_CNT (SLP_TYP from \_S5, then SLP_EN).
            Assert.Contains("ACPI: PM: Preparing to enter system sleep state S5", output, StringComparison.Ordinal);
            Assert.Contains("reboot: Power down", output, StringComparison.Ordinal);

            string qemu = VirtRunProcess.EnsureProgram("qemu-system-i386", "qemu-system-x86");
            (int qemuCode, string qemuOutput, string qemuErr) = VirtRunProcess.Run(qemu, [.. guest, "-accel", "tcg"], TimeSpan.FromMinutes(5));
            Assert.True(qemuCode == 0, $"QEMU exited {qemuCode}: {qemuErr}");
            if (Environment.GetEnvironmentVariable("VIRT_CONSOLE_DUMP") is { Length: > 0 } dump)
            {
                File.WriteAllText(dump + ".virt", output);
                File.WriteAllText(dump + ".qemu", qemuOutput);
            }

            IReadOnlyList<string> virtBoard = BoardLines(output);
            IReadOnlyList<string> qemuBoard = BoardLines(qemuOutput);
            Assert.True(virtBoard.Count >= 15, $"only {virtBoard.Count} board lines:\n{string.Join('\n', virtBoard)}");
            Assert.Equal(qemuBoard, virtBoard);
        }
        finally
        {
            File.Delete(initrd);
        }
    }

    /// <summary>
    /// The console lines that describe the interrupt and timer hardware, which do not depend on timing: the MADT entries,
    /// the I/O APIC, the APIC mode and timer pin, the ACPI interrupt routing and PCI links, the HPET and the S5 entry.
    /// Not "hpet: Lost n RTC interrupts": the kernel prints it when its HPET-emulated RTC tick comes late, which depends
    /// on how busy the host is (the real-time clock catches up in steps).
    /// </summary>
    private static List<string> BoardLines(string console)
    {
        var lines = new List<string>();
        foreach (string line in LinuxConsoleComparison.KernelLines(console))
        {
            if (BoardLine().IsMatch(line))
            {
                lines.Add(BoardDifferences.Aggregate(line, (l, d) => d.Pattern.Replace(l, d.Replacement)));
            }
        }

        return lines;
    }

    [GeneratedRegex(@"^(ACPI: (PM-Timer IO Port|LAPIC_NMI|INT_SRC_OVR|HPET id|Using IOAPIC|PCI: Interrupt link|PM: Preparing)|IOAPIC\[|Using APIC driver|APIC: Switch|Enabling APIC mode|\.\.TIMER|hpet: \d+ channels|hpet0: |reboot: Power down)")]
    private static partial Regex BoardLine();

    [GeneratedRegex(@"LOC:\s+(\d+)")]
    private static partial Regex LocalTimerLine();

    [GeneratedRegex(@"\s0:\s+\d+\s+IO-APIC\s+2-edge\s+timer")]
    private static partial Regex IoApicTimerLine();

    [GeneratedRegex(@"ERR:\s+(\d+)")]
    private static partial Regex ErrorLine();
}
