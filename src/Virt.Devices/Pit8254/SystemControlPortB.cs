using Virt.Memory;

namespace Virt.Devices;

/// <summary>
/// Port 61h, the PC/AT "system control port B" (NMI status and control register in the PIIX/ICH datasheets).
/// Bit 0: counter 2 GATE (read/write). Bit 1: speaker data enable (read/write). Bits 2-3: parity and channel check
/// enables (stored; no NMI source is modelled, so bits 6-7 read 0). Bit 4: the refresh toggle firmware polls for delays,
/// flipping every 18 input-clock ticks (15.09 µs, the period of counter 1 in DRAM-refresh mode) of virtual time.
/// Bit 5: counter 2 OUT. Bits 7-4 ignore writes.
/// </summary>
public sealed class SystemControlPortB : IPortMappedDevice, IStatefulDevice<SystemControlPortBState>
{
    /// <summary>Input-clock ticks per refresh toggle: 18 ticks of 838 ns, the 15 µs DRAM refresh period.</summary>
    public const long RefreshToggleTicks = 18;

    private const byte Counter2GateBit = 0x01;
    private const byte SpeakerDataBit = 0x02;
    private const byte RefreshToggleBit = 0x10;
    private const byte Counter2OutBit = 0x20;

    private readonly IVirtualClock _clock;
    private readonly Pit8254 _pit;
    private byte _writable;

    /// <summary>Creates the port with counter 2's gate low and the speaker off.</summary>
    /// <param name="clock">The machine's virtual clock (for the refresh toggle).</param>
    /// <param name="pit">The timer whose counter 2 the port gates and reads.</param>
    /// <param name="port">The port (default 61h).</param>
    public SystemControlPortB(IVirtualClock clock, Pit8254 pit, ushort port = 0x61)
    {
        ArgumentNullException.ThrowIfNull(clock);
        ArgumentNullException.ThrowIfNull(pit);
        _clock = clock;
        _pit = pit;
        PortBindings = [new PortBinding("System control port B", port, 1, new Ports(this))];
        Reset();
    }

    /// <inheritdoc/>
    public string Name => "Port 61h";

    /// <inheritdoc/>
    public IReadOnlyList<PortBinding> PortBindings { get; }

    /// <summary>Bit 1: whether counter 2's output reaches the speaker.</summary>
    public bool SpeakerDataEnabled => (_writable & SpeakerDataBit) != 0;

    /// <summary>The speaker's input now: counter 2 OUT AND speaker data enable (bit 1).</summary>
    public bool SpeakerLevel => SpeakerDataEnabled && _pit.GetOutput(2);

    /// <summary>The register as the guest reads it now.</summary>
    public byte Value
    {
        get
        {
            byte value = (byte)(_writable & 0x0F);
            if (((Pit8254.TicksAt(_clock.NowNanoseconds) / RefreshToggleTicks) & 1) != 0)
            {
                value |= RefreshToggleBit;
            }

            if (_pit.GetOutput(2))
            {
                value |= Counter2OutBit;
            }

            return value;
        }
    }

    /// <summary>Clears the writable bits: counter 2's gate low, speaker off.</summary>
    public void Reset() => Write(0);

    /// <inheritdoc/>
    public SystemControlPortBState SaveState() => new(SystemControlPortBState.CurrentVersion, _writable);

    /// <inheritdoc/>
    public void RestoreState(SystemControlPortBState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (state.Version != SystemControlPortBState.CurrentVersion || (state.WritableBits & 0xF0) != 0)
        {
            throw new ArgumentException($"SystemControlPortBState is not valid (version {state.Version}, bits {state.WritableBits:X2}h).", nameof(state));
        }

        // Only our own copy: the counter's GATE is part of the PIT's state.
        _writable = state.WritableBits;
    }

    private void Write(byte value)
    {
        _writable = (byte)(value & 0x0F);
        _pit.SetGate(2, (value & Counter2GateBit) != 0);
    }

    private sealed class Ports(SystemControlPortB owner) : IPortDevice
    {
        public AccessWidths SupportedWidths => AccessWidths.Byte;

        public uint Read(ushort offset, int sizeInBytes) => owner.Value;

        public void Write(ushort offset, int sizeInBytes, uint value) => owner.Write((byte)value);
    }
}
