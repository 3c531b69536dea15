using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Virt.Memory;

namespace Virt.Devices;

/// <summary>
/// The PC/AT interrupt controller: two Intel 8259A PICs (datasheet 231468), the slave's INT on the master's IR2, plus
/// the PIIX/ICH edge/level control registers (ELCR) at 4D0h/4D1h. Devices drive IRQ 0-15 through
/// <see cref="GetInput"/>; the machine asks <see cref="HasPendingInterrupt"/> and runs the INTA cycle with
/// <see cref="AcknowledgeInterrupt"/>. Supports ICW1-4, OCW1-3, edge and level triggering, specific and non-specific
/// EOI, automatic EOI, special mask mode, poll mode, automatic and specific rotation, special fully nested mode and the
/// spurious IRQ 7 / IRQ 15 vectors. The 8080/8085 mode (ICW4.uPM = 0) and buffered-mode pins are not modelled.
/// </summary>
/// <seealso href="https://wiki.osdev.org/8259_PIC"/>
public sealed partial class Pic8259Pair : IPortMappedDevice, IStatefulDevice<Pic8259PairState>
{
    private const int CascadeInput = 2;
    private const int MaxLoggedMisuses = 32;

    // PIIX4 datasheet, ELCR1/ELCR2: IRQ 0, 1, 2, 8 and 13 must stay edge-triggered (reserved bits read 0).
    private const byte MasterElcrWritable = 0xF8;
    private const byte SlaveElcrWritable = 0xDE;

    private readonly Pic8259Chip _master = new(isMaster: true);
    private readonly Pic8259Chip _slave = new(isMaster: false);
    private readonly InterruptInput[] _inputs = new InterruptInput[16];
    private readonly Pic8259Options _options;
    private readonly ILogger _logger;
    private bool _output;

    /// <summary>Creates the pair in its power-on state (see <see cref="Reset"/>).</summary>
    /// <param name="options">Ports and power-on vectors; null for the PC/AT defaults.</param>
    /// <param name="logger">A logger for guest misuse (debug level, the first few occurrences); null for none.</param>
    public Pic8259Pair(Pic8259Options? options = null, ILogger<Pic8259Pair>? logger = null)
    {
        _options = options ?? new Pic8259Options();
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        for (int irq = 0; irq < _inputs.Length; irq++)
        {
            int captured = irq;
            _inputs[irq] = new InterruptInput("IRQ" + irq.ToString(System.Globalization.CultureInfo.InvariantCulture), level => OnInputChanged(captured, level));
        }

        var bindings = new List<PortBinding>
        {
            new("PIC master", _options.MasterPort, 2, new ChipPorts(this, _master)),
            new("PIC slave", _options.SlavePort, 2, new ChipPorts(this, _slave)),
        };
        if (_options.ElcrPort is ushort elcr)
        {
            bindings.Add(new PortBinding("PIC ELCR", elcr, 2, new ElcrPorts(this)));
        }

        PortBindings = bindings;
        Reset();
    }

    /// <inheritdoc/>
    public string Name => "PIC";

    /// <inheritdoc/>
    public IReadOnlyList<PortBinding> PortBindings { get; }

    /// <summary>The master's INT output: whether the CPU should run an INTA cycle. O(1).</summary>
    public bool HasPendingInterrupt => _output;

    /// <summary>How many INTA cycles found no request and returned the spurious vector (IRQ 7 or IRQ 15).</summary>
    public long SpuriousInterruptCount { get; private set; }

    /// <summary>
    /// How many times the guest misused the PICs: a write to the data port in the middle of nothing, an ICW4 in 8080
    /// mode or without ICW4, a non-specific EOI with nothing in service, reserved ELCR bits set.
    /// </summary>
    public long GuestMisuseCount { get; private set; }

    /// <summary>
    /// The shared wire of an IRQ (0-15 except 2, which is the cascade; ISA IRQ 2 devices are wired to IRQ 9 on a PC/AT).
    /// Create one line per device with <see cref="InterruptInput.CreateLine"/>.
    /// </summary>
    /// <param name="irq">The IRQ number.</param>
    /// <returns>The input.</returns>
    /// <exception cref="ArgumentOutOfRangeException">When <paramref name="irq"/> is not 0-15 or is 2.</exception>
    public InterruptInput GetInput(int irq)
    {
        if (irq is < 0 or > 15 || irq == CascadeInput)
        {
            throw new ArgumentOutOfRangeException(nameof(irq), irq, "The PIC pair has IRQ 0-15; IRQ 2 is the cascade from the slave (use IRQ 9 for ISA IRQ 2 devices).");
        }

        return _inputs[irq];
    }

    /// <summary>Creates a device's line on an IRQ: shorthand for <c>GetInput(irq).CreateLine(owner)</c>.</summary>
    /// <param name="irq">The IRQ number (0-15 except 2).</param>
    /// <param name="owner">The device's name.</param>
    /// <returns>The line to inject into the device.</returns>
    public InterruptLine CreateInputLine(int irq, string owner) => GetInput(irq).CreateLine(owner);

    /// <summary>
    /// The INTA cycle: returns the vector of the highest-priority unmasked request and marks it in service (unless in
    /// automatic EOI mode). With no request it returns the spurious vector (master base + 7, or slave base + 7 when the
    /// master's cascade input was latched but the slave has nothing) and counts it.
    /// </summary>
    /// <returns>The interrupt vector.</returns>
    public byte AcknowledgeInterrupt()
    {
        int ir = _master.Acknowledge();
        byte vector;
        if (ir < 0)
        {
            SpuriousInterruptCount++;
            vector = (byte)(_master.VectorBase | 7);
        }
        else if ((_master.CascadeMask & (1 << ir)) != 0 && ir == CascadeInput)
        {
            int slaveIr = _slave.Acknowledge();
            if (slaveIr < 0)
            {
                // Datasheet: the slave answers a request that went away with IR7; the master's IR2 stays in service.
                SpuriousInterruptCount++;
                vector = (byte)(_slave.VectorBase | 7);
            }
            else
            {
                vector = (byte)(_slave.VectorBase | slaveIr);
            }

            // The slave's INT may still be high (another request, AEOI); let the master see it as a new edge.
            _master.SetInput(CascadeInput, false);
        }
        else
        {
            vector = (byte)(_master.VectorBase | ir);
        }

        Update();
        return vector;
    }

    /// <summary>
    /// Power-on state: both chips initialized as a PC BIOS leaves them (vectors from the options, cascade on IR2, 8086
    /// mode, normal EOI) but with every IRQ masked, nothing requested or in service, every input edge-triggered.
    /// The level of each input wire is kept: devices keep driving their lines.
    /// </summary>
    public void Reset()
    {
        _master.PowerOn(_options.MasterPowerOnVectorBase, 1 << CascadeInput);
        _slave.PowerOn(_options.SlavePowerOnVectorBase, CascadeInput);
        Update();
    }

    /// <inheritdoc/>
    public Pic8259PairState SaveState() => new(Pic8259PairState.CurrentVersion, Save(_master), Save(_slave));

    /// <inheritdoc/>
    public void RestoreState(Pic8259PairState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (state.Version != Pic8259PairState.CurrentVersion)
        {
            throw new ArgumentException($"Pic8259PairState.Version {state.Version} is not supported (expected {Pic8259PairState.CurrentVersion}).", nameof(state));
        }

        Validate(state.Master, nameof(state.Master));
        Validate(state.Slave, nameof(state.Slave));
        Load(_master, state.Master);
        Load(_slave, state.Slave);
        Update();
    }

    private static Pic8259ChipState Save(Pic8259Chip chip) => new(
        chip.Irr, chip.Isr, chip.Imr, chip.InputLevels, chip.Elcr, chip.Icw1, chip.VectorBase, chip.Icw3, chip.Icw4,
        chip.InitStep, chip.LowestPriority, chip.RotateOnAutoEoi, chip.SpecialMask, chip.ReadIsr, chip.PollPending);

    private static void Validate(Pic8259ChipState chip, string name)
    {
        ArgumentNullException.ThrowIfNull(chip, name);
        if (chip.InitStep is not (0 or 2 or 3 or 4))
        {
            throw new ArgumentException($"Pic8259PairState.{name}.InitStep {chip.InitStep} is not 0, 2, 3 or 4.", name);
        }

        if (chip.LowestPriority is < 0 or > 7)
        {
            throw new ArgumentException($"Pic8259PairState.{name}.LowestPriority {chip.LowestPriority} is not 0-7.", name);
        }
    }

    private static void Load(Pic8259Chip chip, Pic8259ChipState s)
    {
        chip.Irr = s.Irr;
        chip.Isr = s.Isr;
        chip.Imr = s.Imr;
        chip.InputLevels = s.InputLevels;
        chip.Elcr = s.Elcr;
        chip.Icw1 = s.Icw1;
        chip.VectorBase = s.VectorBase;
        chip.Icw3 = s.Icw3;
        chip.Icw4 = s.Icw4;
        chip.InitStep = s.InitStep;
        chip.LowestPriority = s.LowestPriority;
        chip.RotateOnAutoEoi = s.RotateOnAutoEoi;
        chip.SpecialMask = s.SpecialMask;
        chip.ReadIsr = s.ReadIsr;
        chip.PollPending = s.PollPending;
    }

    private void OnInputChanged(int irq, bool level)
    {
        if (irq < 8)
        {
            _master.SetInput(irq, level);
        }
        else
        {
            _slave.SetInput(irq - 8, level);
        }

        Update();
    }

    /// <summary>Propagates the slave's INT to the master's IR2 and recomputes the master's INT.</summary>
    private void Update()
    {
        _master.SetInput(CascadeInput, _slave.GetRequest() >= 0);
        _output = _master.GetRequest() >= 0;
    }

    private void Misuse(Pic8259Chip chip, string what, int value)
    {
        GuestMisuseCount++;
        if (GuestMisuseCount <= MaxLoggedMisuses && _logger.IsEnabled(LogLevel.Debug))
        {
            LogMisuse(_logger, chip.IsMaster ? "master" : "slave", what, value);
        }
    }

    private byte ReadCommand(Pic8259Chip chip)
    {
        if (chip.PollPending)
        {
            // OCW3 poll mode (datasheet "The Poll Command"): the read is the INTA; bit 7 = request present, bits 2-0 = level.
            chip.PollPending = false;
            int ir = chip.Acknowledge();
            Update();
            return ir < 0 ? (byte)0 : (byte)(0x80 | ir);
        }

        return chip.ReadIsr ? chip.Isr : chip.Irr;
    }

    private void WriteCommand(Pic8259Chip chip, byte value)
    {
        if ((value & Pic8259Chip.Icw1Marker) != 0)
        {
            WriteIcw1(chip, value);
        }
        else if ((value & 0x08) != 0)
        {
            WriteOcw3(chip, value);
        }
        else
        {
            WriteOcw2(chip, value);
        }

        Update();
    }

    private void WriteData(Pic8259Chip chip, byte value)
    {
        switch (chip.InitStep)
        {
            case 2:
                // ICW2: T7-T3 of the vector; A10-A8 (8080 mode) ignored.
                chip.VectorBase = (byte)(value & 0xF8);
                chip.InitStep = chip.Single ? NextAfterIcw3(chip) : 3;
                break;
            case 3:
                chip.Icw3 = value;
                if (!chip.IsMaster && (value & 7) != CascadeInput)
                {
                    Misuse(chip, "slave ID in ICW3 is not 2 (still answering the cascade)", value);
                }

                chip.InitStep = NextAfterIcw3(chip);
                break;
            case 4:
                chip.Icw4 = value;
                if ((value & Pic8259Chip.Icw4Microprocessor8086) == 0)
                {
                    Misuse(chip, "ICW4 selects 8080/8085 mode (running in 8086 mode)", value);
                }

                chip.InitStep = 0;
                break;
            default:
                // OCW1: the interrupt mask register.
                chip.Imr = value;
                break;
        }

        Update();
    }

    private static int NextAfterIcw3(Pic8259Chip chip) => (chip.Icw1 & Pic8259Chip.Icw1Ic4) != 0 ? 4 : 0;

    private void WriteIcw1(Pic8259Chip chip, byte value)
    {
        // Datasheet "Initialization Command Words": the edge sense circuit is reset (a high input needs a new rising
        // edge), the IMR is cleared, IR7 gets the lowest priority, special mask mode is cleared, status read is set to
        // IRR, and without IC4 every ICW4 function is zero. ISR and IRR are cleared as well, as on every clone chipset.
        chip.Icw1 = value;
        chip.Icw4 = 0;
        chip.Isr = 0;
        chip.Imr = 0;
        chip.LowestPriority = 7;
        chip.SpecialMask = false;
        chip.ReadIsr = false;
        chip.PollPending = false;
        chip.RotateOnAutoEoi = false;
        chip.Irr = (byte)(chip.InputLevels & chip.LevelMask);
        chip.InitStep = 2;
        if ((value & Pic8259Chip.Icw1Ic4) == 0)
        {
            Misuse(chip, "ICW1 without ICW4 (8080 mode; running in 8086 mode)", value);
            chip.Icw4 = Pic8259Chip.Icw4Microprocessor8086;
        }
    }

    private void WriteOcw2(Pic8259Chip chip, byte value)
    {
        int level = value & 7;
        byte levelMask = (byte)(1 << level);
        switch (value >> 5)
        {
            case 0b001: // non-specific EOI
            case 0b101: // rotate on non-specific EOI
                int ir = chip.NonSpecificEoiTarget();
                if (ir < 0)
                {
                    Misuse(chip, "non-specific EOI with nothing in service", value);
                    break;
                }

                chip.Isr &= (byte)~(1 << ir);
                if ((value & 0x80) != 0)
                {
                    chip.LowestPriority = ir;
                }

                break;
            case 0b011: // specific EOI
                chip.Isr &= (byte)~levelMask;
                break;
            case 0b111: // rotate on specific EOI
                chip.Isr &= (byte)~levelMask;
                chip.LowestPriority = level;
                break;
            case 0b100: // set rotate in automatic EOI mode
                chip.RotateOnAutoEoi = true;
                break;
            case 0b000: // clear rotate in automatic EOI mode
                chip.RotateOnAutoEoi = false;
                break;
            case 0b110: // set priority (specific rotation): level becomes the lowest
                chip.LowestPriority = level;
                break;
            default: // 0b010: no operation
                break;
        }
    }

    private void WriteOcw3(Pic8259Chip chip, byte value)
    {
        if ((value & 0x80) != 0)
        {
            Misuse(chip, "OCW3 with bit 7 set", value);
        }

        switch ((value >> 5) & 3)
        {
            case 2:
                chip.SpecialMask = false;
                break;
            case 3:
                chip.SpecialMask = true;
                break;
            default:
                break;
        }

        if ((value & 0x04) != 0)
        {
            chip.PollPending = true;
        }

        switch (value & 3)
        {
            case 2:
                chip.ReadIsr = false;
                break;
            case 3:
                chip.ReadIsr = true;
                break;
            default:
                break;
        }
    }

    private uint ReadElcr(int offset) => offset == 0 ? _master.Elcr : _slave.Elcr;

    private void WriteElcr(int offset, byte value)
    {
        Pic8259Chip chip = offset == 0 ? _master : _slave;
        byte writable = offset == 0 ? MasterElcrWritable : SlaveElcrWritable;
        if ((value & ~writable) != 0)
        {
            Misuse(chip, "reserved ELCR bit set (IRQ 0, 1, 2, 8 and 13 are edge-triggered)", value);
        }

        chip.Elcr = (byte)(value & writable);
        chip.RefreshLevelRequests();
        Update();
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "PIC {Chip}: guest misuse: {What} (value {Value:X2}h).")]
    private static partial void LogMisuse(ILogger logger, string chip, string what, int value);

    /// <summary>The command (offset 0) and data (offset 1) ports of one chip.</summary>
    private sealed class ChipPorts(Pic8259Pair owner, Pic8259Chip chip) : IPortDevice
    {
        public AccessWidths SupportedWidths => AccessWidths.Byte;

        public uint Read(ushort offset, int sizeInBytes) => offset == 0 ? owner.ReadCommand(chip) : chip.Imr;

        public void Write(ushort offset, int sizeInBytes, uint value)
        {
            if (offset == 0)
            {
                owner.WriteCommand(chip, (byte)value);
            }
            else
            {
                owner.WriteData(chip, (byte)value);
            }
        }
    }

    /// <summary>ELCR1 (offset 0, IRQ 0-7) and ELCR2 (offset 1, IRQ 8-15).</summary>
    private sealed class ElcrPorts(Pic8259Pair owner) : IPortDevice
    {
        public AccessWidths SupportedWidths => AccessWidths.Byte;

        public uint Read(ushort offset, int sizeInBytes) => owner.ReadElcr(offset);

        public void Write(ushort offset, int sizeInBytes, uint value) => owner.WriteElcr(offset, (byte)value);
    }
}
