namespace Virt.Machine.Acpi;

/// <summary>
/// What the ACPI tables describe: the power-management register blocks, interrupt controllers, timers and PCI windows
/// of the board. The defaults are QEMU's <c>pc</c> machine (i440FX, PIIX3 and the PIIX4 power-management function at
/// the addresses SeaBIOS programs), so a board that moves a device changes one field here.
/// </summary>
public sealed record AcpiPlatformDescription
{
    /// <summary>The OEM id in every table header (6 characters, space padded).</summary>
    public string OemId { get; init; } = "VIRT  ";

    /// <summary>The OEM table id in every table header (8 characters, space padded).</summary>
    public string OemTableId { get; init; } = "VIRTPC  ";

    /// <summary>The PM1a event block (PM1_STS and PM1_EN) port; QEMU's PIIX4 PM base is 600h.</summary>
    public ushort Pm1aEventBlock { get; init; } = 0x600;

    /// <summary>The PM1 event block length in bytes.</summary>
    public byte Pm1EventLength { get; init; } = 4;

    /// <summary>The PM1a control block (PM1_CNT: SCI_EN, SLP_TYP, SLP_EN) port.</summary>
    public ushort Pm1aControlBlock { get; init; } = 0x604;

    /// <summary>The PM1 control block length in bytes.</summary>
    public byte Pm1ControlLength { get; init; } = 2;

    /// <summary>The PM timer (3.579545 MHz, 24-bit on the PIIX4) port.</summary>
    public ushort PmTimerBlock { get; init; } = 0x608;

    /// <summary>The PM timer block length in bytes.</summary>
    public byte PmTimerLength { get; init; } = 4;

    /// <summary>The GPE0 block (status then enable halves) port; QEMU's pc machine places it at AFE0h.</summary>
    public ushort Gpe0Block { get; init; } = 0xAFE0;

    /// <summary>The GPE0 block length in bytes (a multiple of 2).</summary>
    public byte Gpe0BlockLength { get; init; } = 4;

    /// <summary>The ISA IRQ of the SCI (level-triggered, active-high through the interrupt source override).</summary>
    public byte SciInterrupt { get; init; } = 9;

    /// <summary>The SMI command port the OS writes <see cref="AcpiEnableValue"/> to (QEMU: B2h, the APM control port); 0 for a hardware-reduced or always-ACPI platform.</summary>
    public ushort SmiCommandPort { get; init; } = 0xB2;

    /// <summary>The value that asks the platform to enter ACPI mode (set SCI_EN).</summary>
    public byte AcpiEnableValue { get; init; } = 0xF1;

    /// <summary>The value that asks the platform to leave ACPI mode.</summary>
    public byte AcpiDisableValue { get; init; } = 0xF0;

    /// <summary>The RTC CMOS index of the century register.</summary>
    public byte CenturyCmosIndex { get; init; } = 0x32;

    /// <summary>The reset register port (the PIIX3/i440FX reset control register).</summary>
    public ushort ResetRegisterPort { get; init; } = 0xCF9;

    /// <summary>The value written to the reset register to reset (6: hard reset with CPU reset, the value Linux's ACPI reboot writes).</summary>
    public byte ResetValue { get; init; } = 6;

    /// <summary>The SLP_TYP value of the S5 (soft off) state: 0 on the PIIX4.</summary>
    public byte S5SleepType { get; init; }

    /// <summary>The number of CPUs (a local APIC and a processor device each; APIC ids 0 to n-1).</summary>
    public int CpuCount { get; init; } = 1;

    /// <summary>The local APIC's physical address.</summary>
    public uint LocalApicAddress { get; init; } = 0xFEE0_0000;

    /// <summary>The I/O APIC's id.</summary>
    public byte IoApicId { get; init; }

    /// <summary>The I/O APIC's physical address.</summary>
    public uint IoApicAddress { get; init; } = 0xFEC0_0000;

    /// <summary>The first GSI of the I/O APIC.</summary>
    public uint IoApicGsiBase { get; init; }

    /// <summary>Whether an HPET is present (HPET table and the PNP0103 device).</summary>
    public bool HpetPresent { get; init; } = true;

    /// <summary>The HPET's physical address.</summary>
    public uint HpetAddress { get; init; } = 0xFED0_0000;

    /// <summary>
    /// The HPET's general capabilities id as the HPET table repeats it: vendor 8086h (bits 31-16), legacy replacement
    /// capable (bit 15), 64-bit counter (bit 13), three comparators (bits 12-8 = 2), revision 1 (QEMU's value).
    /// </summary>
    public uint HpetEventTimerBlockId { get; init; } = 0x8086_A201;

    /// <summary>The ISA IRQs PCI interrupts may be routed to (the PIRQ links' possible resources); QEMU uses 5, 10 and 11.</summary>
    public IReadOnlyList<int> PciInterruptIrqs { get; init; } = [5, 10, 11];

    /// <summary>The PCI slot (device number) of the PIIX3 ISA bridge, whose PIRQ route registers the links program.</summary>
    public byte IsaBridgeDevice { get; init; } = 1;

    /// <summary>The configuration-space offset of the PIIX3's PIRQA route register (PIRQB-D follow).</summary>
    public byte PirqRouteRegister { get; init; } = 0x60;

    /// <summary>The first address of the 32-bit PCI memory window (the top of RAM below 4 GiB).</summary>
    public uint PciHoleStart { get; init; } = 0x0800_0000;

    /// <summary>The last address of the 32-bit PCI memory window (below the I/O APIC).</summary>
    public uint PciHoleLastAddress { get; init; } = 0xFEBF_FFFF;

    /// <summary>Checks the description, naming the first bad field.</summary>
    /// <exception cref="ArgumentException">When a field is out of range.</exception>
    public void Validate()
    {
        if (OemId.Length != 6 || OemTableId.Length != 8 || (OemId + OemTableId).Any(c => c is < ' ' or > '~'))
        {
            throw new ArgumentException($"{nameof(AcpiPlatformDescription)}: {nameof(OemId)} must be 6 and {nameof(OemTableId)} 8 printable ASCII characters.");
        }

        if (CpuCount is < 1 or > byte.MaxValue)
        {
            throw new ArgumentException($"{nameof(AcpiPlatformDescription)}.{nameof(CpuCount)} {CpuCount} must be 1 to 255 (xAPIC ids).");
        }

        if (SciInterrupt > 15 || PciInterruptIrqs.Count == 0 || PciInterruptIrqs.Any(i => i is < 0 or > 15))
        {
            throw new ArgumentException($"{nameof(AcpiPlatformDescription)}: {nameof(SciInterrupt)} and {nameof(PciInterruptIrqs)} must be ISA IRQs 0 to 15 (and at least one PCI IRQ).");
        }

        if (Gpe0BlockLength % 2 != 0 || Pm1EventLength < 4 || Pm1ControlLength < 2 || PmTimerLength != 4)
        {
            throw new ArgumentException($"{nameof(AcpiPlatformDescription)}: block lengths must be as ACPI 6.5 4.8.3 requires (PM1 event >= 4, PM1 control >= 2, PM timer 4, GPE0 even).");
        }

        if (PciHoleLastAddress < PciHoleStart || IsaBridgeDevice > 31)
        {
            throw new ArgumentException($"{nameof(AcpiPlatformDescription)}: the PCI hole {PciHoleStart:X8}-{PciHoleLastAddress:X8} or ISA bridge device {IsaBridgeDevice} is not valid.");
        }
    }
}
