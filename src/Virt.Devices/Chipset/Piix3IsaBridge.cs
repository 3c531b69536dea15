namespace Virt.Devices;

/// <summary>
/// The PCI-to-ISA bridge function of an Intel 82371SB PIIX3 (device 8086:7000, bus 0 device 1 function 0 on QEMU's
/// <c>pc</c> machine), with its PCI interrupt routing: each function's INTx# pin reaches one of the four PIRQ links by
/// the slot swizzle (<see cref="GetPirqLink"/>), and PIRQ route control registers 60h-63h send each link to an ISA
/// IRQ of the 8259 pair, or nowhere when bit 7 is set (Intel 290550, "82371FB (PIIX) and 82371SB (PIIX3)", 2.2.9).
/// The same links can also drive I/O APIC inputs (<see cref="ConnectApicInputs"/>), as QEMU wires PIRQA-D to I/O APIC
/// pins 16-19 whatever 60h-63h say.
/// </summary>
/// <remarks>
/// The edge/level control registers at 4D0h/4D1h that the PIIX3 also holds are implemented by
/// <see cref="Pic8259Pair"/> (they act on the 8259 inputs); PCI interrupts are level-triggered, so the firmware sets
/// the ELCR bits of the IRQs it routes PIRQs to. The other ISA-bridge registers (I/O recovery, X-bus chip select, top of
/// memory, motherboard IRQ and DMA routing, APIC base, SMI control) are plain registers with their reset values.
/// </remarks>
public sealed class Piix3IsaBridge : PciDevice, IStatefulDevice<Piix3IsaBridgeState>, IPciInterruptRouter
{
    /// <summary>The PIIX3 ISA bridge's device ID.</summary>
    public const ushort IsaBridgeDeviceId = 0x7000;

    /// <summary>PIRQRCA, the route control register of PIRQA; PIRQB-D follow at 61h-63h.</summary>
    public const int PirqRouteControl = 0x60;

    /// <summary>The number of PIRQ links.</summary>
    public const int PirqLinkCount = 4;

    /// <summary>PIRQRC bit 7: the link is not routed to an ISA IRQ.</summary>
    public const byte PirqRouteDisable = 0x80;

    /// <summary>PIRQRC bits 3:0: the ISA IRQ.</summary>
    public const byte PirqRouteIrqMask = 0x0F;

    private const uint IsaBridgeClass = 0x06_0100;
    private const ushort PowerOnCommand = PciConfigurationRegisters.CommandIoSpace | PciConfigurationRegisters.CommandMemorySpace | PciConfigurationRegisters.CommandBusMaster;

    // Plain registers and reset values (290550, 2.2): IORT, XBCS, TOM, MSTAT, MBIRQ0, MBDMA0-1, APICBASE, DLC, SMICNTL,
    // SMIEN, SEE, FTMR, SMIREQ, CTLTMR, CTHTMR.
    private const int Iort = 0x4C;
    private const int Xbcs = 0x4E;
    private const int Tom = 0x69;
    private const int Mstat = 0x6A;
    private const int Mbirq0 = 0x70;
    private const int Mbdma0 = 0x76;
    private const int ApicBase = 0x80;
    private const int Dlc = 0x82;
    private const int SmiControl = 0xA0;
    private const int SmiRegistersEnd = 0xAF;

    // 290550 2.2.9: IRQ 0, 1, 2, 8 and 13 are reserved routing targets; a link routed there reaches no IRQ.
    private const int ValidIrqMask = 0b1101_1110_1111_1000;

    private readonly Func<int, IInterruptLine> _isaLineFactory;
    private readonly InterruptInput[] _links = new InterruptInput[PirqLinkCount];
    private readonly IInterruptLine?[,] _isaLines = new IInterruptLine?[PirqLinkCount, 16];
    private readonly int[] _drivenIrq = [-1, -1, -1, -1];
    private IReadOnlyList<IInterruptLine>? _apicInputs;

    /// <summary>Creates the bridge with every PIRQ link unrouted (80h), as after reset.</summary>
    /// <param name="isaIrqLine">
    /// Creates the line a PIRQ link drives into ISA IRQ n of the 8259 pair (called at most once per link and IRQ, the first time
    /// the guest routes the link there).
    /// </param>
    public Piix3IsaBridge(Func<int, IInterruptLine> isaIrqLine)
        : base("PIIX3 ISA bridge", new PciDeviceIdentity(I440fxHostBridge.IntelVendorId, IsaBridgeDeviceId, IsaBridgeClass) { Command = PowerOnCommand, SubsystemVendorId = I440fxHostBridge.QemuSubsystemVendorId, SubsystemId = I440fxHostBridge.QemuSubsystemId })
    {
        _isaLineFactory = isaIrqLine ?? throw new ArgumentNullException(nameof(isaIrqLine));
        for (int i = 0; i < PirqLinkCount; i++)
        {
            int link = i;
            _links[i] = new InterruptInput("PIRQ" + (char)('A' + i), _ => UpdateLink(link));
        }

        Span<byte> c = Configuration;
        c[PciConfigurationRegisters.HeaderType] = 0x80; // multi-function: the IDE, USB and PM functions follow
        c[Iort] = 0x4D;
        c[Xbcs] = 0x03;
        c[Tom] = 0x02;
        c[Mbirq0] = 0x80;
        c[Mbdma0] = 0x0C;
        c[Mbdma0 + 1] = 0x0C;
        c[SmiControl] = 0x08;
        c[0xA8] = 0x0F; // FTMR
        for (int i = 0; i < PirqLinkCount; i++)
        {
            c[PirqRouteControl + i] = PirqRouteDisable;
            SetWritableMask(PirqRouteControl + i, 1, PirqRouteDisable | PirqRouteIrqMask);
        }

        foreach (int register in (ReadOnlySpan<int>)[Iort, Xbcs, Xbcs + 1, Tom, Mstat, Mstat + 1, Mbirq0, Mbdma0, Mbdma0 + 1, ApicBase, Dlc])
        {
            SetWritableMask(register, 1, 0xFF);
        }

        for (int register = SmiControl; register <= SmiRegistersEnd; register++)
        {
            SetWritableMask(register, 1, 0xFF);
        }
    }

    /// <summary>
    /// The PIRQ link (0 = PIRQA … 3 = PIRQD) a pin of a device on bus 0 reaches: <c>(pin - 1 + device - 1) mod 4</c>,
    /// the rotation QEMU's <c>pc</c> machine, SeaBIOS's PCI setup and QEMU's ACPI <c>_PRT</c> all use, so device 1's INTA#
    /// is PIRQA and device 2's INTA# is PIRQB.
    /// </summary>
    /// <param name="deviceNumber">The device number (0-31).</param>
    /// <param name="pin">INTA#-INTD#.</param>
    /// <returns>The link index.</returns>
    public static int GetPirqLink(int deviceNumber, PciInterruptPin pin)
    {
        if (pin is < PciInterruptPin.IntA or > PciInterruptPin.IntD)
        {
            throw new ArgumentOutOfRangeException(nameof(pin), pin, "The pin must be INTA# to INTD#.");
        }

        ArgumentOutOfRangeException.ThrowIfNegative(deviceNumber);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(deviceNumber, PciFunctionAddress.DevicesPerBus);
        return ((int)pin - 1 + deviceNumber - 1 + PirqLinkCount) % PirqLinkCount;
    }

    /// <summary>The wire of PIRQ link <paramref name="link"/> (the OR of the INTx# lines routed to it).</summary>
    /// <param name="link">0-3 (PIRQA-PIRQD).</param>
    /// <returns>The link.</returns>
    public InterruptInput GetLink(int link) => _links[link];

    /// <summary>The ISA IRQ PIRQ link <paramref name="link"/> is routed to, or null when disabled (bit 7) or reserved.</summary>
    /// <param name="link">0-3.</param>
    /// <returns>The IRQ.</returns>
    public int? GetRoutedIrq(int link)
    {
        byte route = Configuration[PirqRouteControl + link];
        int irq = route & PirqRouteIrqMask;
        return (route & PirqRouteDisable) != 0 || (ValidIrqMask & (1 << irq)) == 0 ? null : irq;
    }

    /// <summary>
    /// Connects the four PIRQ links to I/O APIC inputs as well (QEMU <c>pc</c>: pins 16-19). Each line then follows its
    /// link's level, independently of the ISA routing in 60h-63h. For the I/O APIC's board wiring.
    /// </summary>
    /// <param name="lines">Four lines, PIRQA first.</param>
    public void ConnectApicInputs(IReadOnlyList<IInterruptLine> lines)
    {
        ArgumentNullException.ThrowIfNull(lines);
        if (lines.Count != PirqLinkCount)
        {
            throw new ArgumentException($"The PIIX3 has {PirqLinkCount} PIRQ links; {lines.Count} I/O APIC lines were given.", nameof(lines));
        }

        _apicInputs = lines;
        for (int i = 0; i < PirqLinkCount; i++)
        {
            lines[i].SetLevel(_links[i].Level);
        }
    }

    /// <inheritdoc/>
    public IInterruptLine CreateIntxLine(PciFunctionAddress address, PciInterruptPin pin, string owner) =>
        _links[GetPirqLink(address.Device, pin)].CreateLine(owner);

    /// <inheritdoc/>
    public Piix3IsaBridgeState SaveState() => new(Piix3IsaBridgeState.CurrentVersion, SaveConfiguration());

    /// <inheritdoc/>
    public void RestoreState(Piix3IsaBridgeState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (state.Version != Piix3IsaBridgeState.CurrentVersion)
        {
            throw new ArgumentException($"Piix3IsaBridgeState.Version {state.Version} is not supported (expected {Piix3IsaBridgeState.CurrentVersion}).", nameof(state));
        }

        RestoreConfiguration(state.Configuration);
        UpdateAllLinks();
    }

    /// <inheritdoc/>
    protected override void OnConfigurationWritten(int register, int sizeInBytes)
    {
        if (register < PirqRouteControl + PirqLinkCount && register + sizeInBytes > PirqRouteControl)
        {
            UpdateAllLinks();
        }
    }

    /// <inheritdoc/>
    protected override void OnReset() => UpdateAllLinks();

    private void UpdateAllLinks()
    {
        for (int i = 0; i < PirqLinkCount; i++)
        {
            UpdateLink(i);
        }
    }

    /// <summary>Drives the routed ISA IRQ (and the I/O APIC input) from the link's level; lowers an IRQ the link left.</summary>
    private void UpdateLink(int link)
    {
        bool level = _links[link].Level;
        _apicInputs?[link].SetLevel(level);
        int target = GetRoutedIrq(link) ?? -1;
        int previous = _drivenIrq[link];
        if (previous >= 0 && previous != target)
        {
            _isaLines[link, previous]!.SetLevel(false);
        }

        _drivenIrq[link] = target;
        if (target >= 0)
        {
            IInterruptLine line = _isaLines[link, target] ??= _isaLineFactory(target);
            line.SetLevel(level);
        }
    }
}
