using Virt.Machine.Acpi.Aml;

namespace Virt.Machine.Acpi;

/// <summary>
/// Builds the DSDT's AML for the pc board: the processors, the PCI root <c>\_SB.PCI0</c> (its resources and interrupt
/// routing through the PIIX3 PIRQ links), the ISA devices behind the PIIX3, the HPET and the <c>_S5</c> sleep package
/// the OS powers off with. The layout follows what QEMU's pc machine shows its guests (PIIX3 PIRQ registers 60h-63h,
/// links LNKA-LNKD and LNKS), so guest drivers take the same paths.
/// </summary>
public static class AcpiDsdtBuilder
{
    /// <summary>PIRQ route register bit 7: routing disabled (PIIX3 datasheet, PIRQRC[A:D]).</summary>
    public const byte PirqRouteDisabled = 0x80;

    /// <summary>PIRQ route register bits 3-0: the ISA IRQ.</summary>
    public const byte PirqRouteIrqMask = 0x0F;

    /// <summary>_STA: present, enabled, shown in the UI and functioning.</summary>
    private const uint StatusPresentEnabledFunctioning = 0x0F;

    /// <summary>_STA of an enabled link: present, enabled, functioning (not shown in the UI).</summary>
    private const uint StatusLinkEnabled = 0x0B;

    /// <summary>_STA of a disabled link: present, functioning.</summary>
    private const uint StatusLinkDisabled = 0x09;

    /// <summary>Offset of the interrupt number in an extended interrupt descriptor (tag, length, flags, count).</summary>
    private const int InterruptNumberOffset = 5;

    /// <summary>The number of PCI slots the routing table covers.</summary>
    private const int PciSlots = 32;

    /// <summary>The number of PCI interrupt pins (INTA-INTD).</summary>
    private const int PciPins = 4;

    private static readonly string[] s_links = ["LNKA", "LNKB", "LNKC", "LNKD"];

    /// <summary>The DSDT body (the AML after the table header).</summary>
    /// <param name="platform">The board description.</param>
    /// <returns>The top-level AML nodes.</returns>
    public static IReadOnlyList<AmlNode> BuildBody(AcpiPlatformDescription platform)
    {
        ArgumentNullException.ThrowIfNull(platform);
        platform.Validate();
        var sb = new List<AmlNode>();
        for (int cpu = 0; cpu < platform.CpuCount; cpu++)
        {
            // ACPI 6.5, 8.4 "Declaring Processors": a processor device with _UID matching the MADT's processor UID.
            sb.Add(new AmlDevice($"C{cpu:X3}", [Name("_HID", new AmlString("ACPI0007")), Name("_UID", new AmlInteger((ulong)cpu))]));
        }

        sb.Add(BuildPciRoot(platform));
        sb.Add(BuildLinkStatusMethod());
        sb.Add(BuildLinkResourceMethod());
        for (int i = 0; i < s_links.Length; i++)
        {
            sb.Add(BuildLink(platform, i));
        }

        sb.Add(BuildSciLink(platform));
        if (platform.HpetPresent)
        {
            sb.Add(new AmlDevice("HPET",
            [
                Name("_HID", AmlEisaId.Node("PNP0103")),
                Name("_UID", new AmlInteger(0)),
                Name("_STA", new AmlInteger(StatusPresentEnabledFunctioning)),
                Name("_CRS", new AmlResourceTemplate().Memory32Fixed(readWrite: false, platform.HpetAddress, 0x400).Build()),
            ]));
        }

        return
        [
            new AmlScope("\\_SB", sb),

            // \_S5: SLP_TYPa, SLP_TYPb and two reserved values (ACPI 6.5, 7.4.2 "\_Sx (System States)").
            Name("\\_S5", new AmlPackage(new AmlInteger(platform.S5SleepType), new AmlInteger(platform.S5SleepType), new AmlInteger(0), new AmlInteger(0))),
        ];
    }

    private static AmlDevice BuildPciRoot(AcpiPlatformDescription platform)
    {
        AmlBuffer crs = new AmlResourceTemplate()
            .WordBusNumber(0, 0xFF)
            .Io(0xCF8, 0xCF8, 1, 8)
            .WordIo(0x0000, 0x0CF7)
            .WordIo(0x0D00, 0xFFFF)
            .DWordMemory(cacheable: true, 0x000A_0000, 0x000B_FFFF)
            .DWordMemory(cacheable: false, platform.PciHoleStart, platform.PciHoleLastAddress)
            .Build();

        // _PRT: slot s pin p (INTA = 0) goes to PIRQ (s + p - 1) mod 4, the PIIX3's rotation (what QEMU's piix3 routes),
        // except INTA of the ISA bridge's own slot, which is the power-management function's SCI (LNKS).
        var routes = new List<AmlNode>();
        for (int slot = 0; slot < PciSlots; slot++)
        {
            for (int pin = 0; pin < PciPins; pin++)
            {
                string link = slot == platform.IsaBridgeDevice && pin == 0 ? "LNKS" : s_links[(slot + pin + PciPins - 1) % PciPins];
                routes.Add(new AmlPackage(new AmlInteger(((ulong)slot << 16) | 0xFFFF), new AmlInteger((ulong)pin), new AmlNameReference(link), new AmlInteger(0)));
            }
        }

        var prt = new AmlPackage(routes);
        return new AmlDevice("PCI0",
        [
            Name("_HID", AmlEisaId.Node("PNP0A03")),
            Name("_ADR", new AmlInteger(0)),
            Name("_UID", new AmlInteger(0)),
            Name("_BBN", new AmlInteger(0)),
            Name("_CRS", crs),
            Name("_PRT", prt),
            BuildIsaBridge(platform),
        ]);
    }

    private static AmlDevice BuildIsaBridge(AcpiPlatformDescription platform)
    {
        return new AmlDevice("ISA",
        [
            Name("_ADR", new AmlInteger((ulong)platform.IsaBridgeDevice << 16)),

            // The PIRQ route registers, one byte per link, in the bridge's own configuration space.
            new AmlOperationRegion("P40C", AmlRegionSpace.PciConfig, new AmlInteger(platform.PirqRouteRegister), new AmlInteger(4)),
            new AmlField("P40C", AmlFieldAccess.Any, AmlFieldUpdate.Preserve, [new("PRQ0", 8), new("PRQ1", 8), new("PRQ2", 8), new("PRQ3", 8)]),
            IsaDevice("KBD", "PNP0303", new AmlResourceTemplate().Io(0x60, 0x60, 1, 1).Io(0x64, 0x64, 1, 1).IrqNoFlags(1)),
            IsaDevice("MOU", "PNP0F13", new AmlResourceTemplate().IrqNoFlags(12)),
            IsaDevice("COM1", "PNP0501", new AmlResourceTemplate().Io(0x3F8, 0x3F8, 1, 8).IrqNoFlags(4), uid: 1),
            IsaDevice("RTC", "PNP0B00", new AmlResourceTemplate().Io(0x70, 0x70, 1, 8).IrqNoFlags(8)),
            IsaDevice("PIT", "PNP0100", new AmlResourceTemplate().Io(0x40, 0x40, 1, 4).IrqNoFlags(0)),
            IsaDevice("PIC", "PNP0000", new AmlResourceTemplate().Io(0x20, 0x20, 1, 2).Io(0xA0, 0xA0, 1, 2).IrqNoFlags(2)),
        ]);
    }

    private static AmlDevice IsaDevice(string name, string hid, AmlResourceTemplate resources, ulong? uid = null)
    {
        var body = new List<AmlNode> { Name("_HID", AmlEisaId.Node(hid)) };
        if (uid is { } u)
        {
            body.Add(Name("_UID", new AmlInteger(u)));
        }

        body.Add(Name("_STA", new AmlInteger(StatusPresentEnabledFunctioning)));
        body.Add(Name("_CRS", resources.Build()));
        return new AmlDevice(name, body);
    }

    /// <summary><c>IQST (route)</c>: a link's _STA from its route register (disabled when bit 7 is set).</summary>
    private static AmlMethod BuildLinkStatusMethod() => new("IQST", 1, serialized: false,
    [
        new AmlIf(new AmlOperation(AmlOpcode.And, new AmlInteger(PirqRouteDisabled), new AmlArgument(0), new AmlInteger(0)),
        [
            new AmlOperation(AmlOpcode.Return, new AmlInteger(StatusLinkDisabled)),
        ]),
        new AmlOperation(AmlOpcode.Return, new AmlInteger(StatusLinkEnabled)),
    ]);

    /// <summary><c>IQCR (route)</c>: a link's current resource, an interrupt descriptor with the routed IRQ (0 when disabled).</summary>
    private static AmlMethod BuildLinkResourceMethod() => new("IQCR", 1, serialized: true,
    [
        Name("PRR0", new AmlResourceTemplate().Interrupt(edge: false, activeLow: false, shared: true, 0).Build()),
        new AmlOperation(AmlOpcode.CreateDWordField, new AmlNameReference("PRR0"), new AmlInteger(InterruptNumberOffset), new AmlNameReference("PRRI")),
        new AmlIf(new AmlOperation(AmlOpcode.LLess, new AmlArgument(0), new AmlInteger(PirqRouteDisabled)),
        [
            new AmlOperation(AmlOpcode.Store, new AmlOperation(AmlOpcode.And, new AmlArgument(0), new AmlInteger(PirqRouteIrqMask), new AmlInteger(0)), new AmlNameReference("PRRI")),
        ]),
        new AmlOperation(AmlOpcode.Return, new AmlNameReference("PRR0")),
    ]);

    /// <summary>LNKA-LNKD: a PCI interrupt link (PNP0C0F) whose IRQ is PIIX3 route register 60h + <paramref name="index"/>.</summary>
    private static AmlDevice BuildLink(AcpiPlatformDescription platform, int index)
    {
        string register = $"\\_SB.PCI0.ISA.PRQ{index}";
        uint[] irqs = [.. platform.PciInterruptIrqs.Select(i => (uint)i)];
        return new AmlDevice(s_links[index],
        [
            Name("_HID", AmlEisaId.Node("PNP0C0F")),
            Name("_UID", new AmlInteger((ulong)index)),
            Name("_PRS", new AmlResourceTemplate().Interrupt(edge: false, activeLow: false, shared: true, irqs).Build()),
            new AmlMethod("_STA", 0, serialized: false, [new AmlOperation(AmlOpcode.Return, new AmlCall("IQST", [new AmlNameReference(register)]))]),
            new AmlMethod("_DIS", 0, serialized: false,
            [
                new AmlOperation(AmlOpcode.Or, new AmlNameReference(register), new AmlInteger(PirqRouteDisabled), new AmlNameReference(register)),
            ]),
            new AmlMethod("_CRS", 0, serialized: false, [new AmlOperation(AmlOpcode.Return, new AmlCall("IQCR", [new AmlNameReference(register)]))]),
            new AmlMethod("_SRS", 1, serialized: false,
            [
                new AmlOperation(AmlOpcode.CreateDWordField, new AmlArgument(0), new AmlInteger(InterruptNumberOffset), new AmlNameReference("PRRI")),
                new AmlOperation(AmlOpcode.Store, new AmlNameReference("PRRI"), new AmlNameReference(register)),
            ]),
        ]);
    }

    /// <summary>LNKS: the fixed link of the power-management function's SCI (INTA of the ISA bridge slot), always the SCI IRQ.</summary>
    private static AmlDevice BuildSciLink(AcpiPlatformDescription platform)
    {
        AmlBuffer sci = new AmlResourceTemplate().Interrupt(edge: false, activeLow: false, shared: true, platform.SciInterrupt).Build();
        return new AmlDevice("LNKS",
        [
            Name("_HID", AmlEisaId.Node("PNP0C0F")),
            Name("_UID", new AmlInteger(4)),
            Name("_STA", new AmlInteger(StatusLinkEnabled)),
            Name("_PRS", sci),
            new AmlMethod("_SRS", 1, serialized: false, []),
            Name("_CRS", sci),
        ]);
    }

    private static AmlName Name(string name, AmlNode value) => new(name, value);
}
