using System.Globalization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Virt.Memory;

namespace Virt.Devices;

/// <summary>
/// The Intel 82093AA I/O APIC (datasheet 290566): 24 interrupt input pins, each with a redirection entry that turns it
/// into an APIC message to the local APIC (<see cref="Target"/>); registers reached indirectly through IOREGSEL (offset
/// 00h) and IOWIN (offset 10h) in a window at FEC00000h. Edge-triggered pins send on a rising edge while unmasked;
/// level-triggered pins send while asserted, unmasked and without remote IRR, which is set when the local APIC accepts
/// the message and cleared by its EOI broadcast (<see cref="OnEndOfInterrupt"/>). The wires carry the logical request
/// (asserted = interrupt wanted): the polarity bit is kept for software but not applied, as the board's inverters match
/// what the ACPI tables tell software to program (QEMU does the same).
/// </summary>
/// <seealso href="https://pdos.csail.mit.edu/6.828/2018/readings/ia32/ioapic.pdf"/>
public sealed partial class IoApic : IMmioDevice, IEndOfInterruptListener, IStatefulDevice<IoApicState>
{
    /// <summary>The window's physical address on the PC.</summary>
    public const ulong DefaultBaseAddress = 0xFEC0_0000;

    /// <summary>The size of the window the board maps (one page, as QEMU).</summary>
    public const ulong WindowSizeInBytes = 0x1000;

    /// <summary>The number of input pins and redirection entries.</summary>
    public const int PinCount = 24;

    /// <summary>IOAPICVER: version 11h, maximum redirection entry 17h (24 entries).</summary>
    public const uint VersionRegisterValue = 0x0017_0011;

    private const int RegisterSelectOffset = 0x00;
    private const int WindowOffset = 0x10;
    private const int RegId = 0x00;
    private const int RegVersion = 0x01;
    private const int RegArbitration = 0x02;
    private const int RegRedirectionBase = 0x10;
    private const int IdShift = 24;
    private const byte IdMask = 0x0F;

    // Redirection entry bits (datasheet 3.2.4).
    private const ulong EntryVectorMask = 0xFF;
    private const int EntryDeliveryModeShift = 8;
    private const ulong EntryLogicalDestination = 1UL << 11;
    private const ulong EntryRemoteIrr = 1UL << 14;
    private const ulong EntryLevelTriggered = 1UL << 15;
    private const ulong EntryMasked = 1UL << 16;
    private const int EntryDestinationShift = 56;

    /// <summary>The bits software writes in the low doubleword: all but delivery status (12) and remote IRR (14).</summary>
    private const uint EntryLowWritable = 0x0001_AFFF;

    /// <summary>The destination field, bits 63:56.</summary>
    private const uint EntryHighWritable = 0xFF00_0000;

    private const int MaxLoggedMisuses = 32;

    private readonly ulong[] _entries = new ulong[PinCount];
    private readonly InterruptInput[] _inputs = new InterruptInput[PinCount];
    private readonly IoApicOptions _options;
    private readonly ILogger _logger;
    private byte _id;
    private byte _registerSelect;
    private uint _levels;

    /// <summary>Creates the I/O APIC in its power-on state: every entry masked.</summary>
    /// <param name="options">The ID; null for the defaults.</param>
    /// <param name="logger">A logger for guest misuse (debug level, the first few); null for none.</param>
    public IoApic(IoApicOptions? options = null, ILogger<IoApic>? logger = null)
    {
        _options = options ?? new IoApicOptions();
        if (_options.Id > IdMask)
        {
            throw new ArgumentOutOfRangeException(nameof(options), _options.Id, "IoApicOptions.Id must be 0-15 (a 4-bit APIC ID).");
        }

        _logger = (ILogger?)logger ?? NullLogger.Instance;
        for (int pin = 0; pin < PinCount; pin++)
        {
            int captured = pin;
            _inputs[pin] = new InterruptInput("IOAPIC pin " + pin.ToString(CultureInfo.InvariantCulture), level => OnInputChanged(captured, level));
        }

        Reset();
    }

    /// <inheritdoc/>
    public string Name => "IOAPIC";

    /// <inheritdoc/>
    public AccessWidths SupportedWidths => AccessWidths.DoubleWord;

    /// <summary>The local APIC the messages go to; null for none (messages are then lost).</summary>
    public IApicInterruptTarget? Target { get; set; }

    /// <summary>Watches register writes and messages (tracing); null for none.</summary>
    public IApicEventObserver? Observer { get; set; }

    /// <summary>How many times the guest misused the I/O APIC: unknown registers, unsupported delivery modes.</summary>
    public long GuestMisuseCount { get; private set; }

    /// <summary>How many messages no local APIC accepted (a destination that names no APIC).</summary>
    public long UndeliveredMessageCount { get; private set; }

    /// <summary>The shared wire of input pin <paramref name="pin"/>; create one line per device with <see cref="InterruptInput.CreateLine"/>.</summary>
    /// <param name="pin">0 to 23.</param>
    /// <returns>The input.</returns>
    public InterruptInput GetInput(int pin)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(pin);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(pin, PinCount);
        return _inputs[pin];
    }

    /// <summary>Creates a device's line on an input pin: shorthand for <c>GetInput(pin).CreateLine(owner)</c>.</summary>
    /// <param name="pin">0 to 23.</param>
    /// <param name="owner">The device's name.</param>
    /// <returns>The line.</returns>
    public InterruptLine CreateInputLine(int pin, string owner) => GetInput(pin).CreateLine(owner);

    /// <summary>The redirection entry of a pin (for tests and diagnostics).</summary>
    /// <param name="pin">0 to 23.</param>
    /// <returns>The 64-bit entry, remote IRR included.</returns>
    public ulong GetRedirectionEntry(int pin)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(pin);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(pin, PinCount);
        return _entries[pin];
    }

    /// <inheritdoc/>
    public ulong Read(RegionOffset offset, int sizeInBytes) => offset.Value switch
    {
        RegisterSelectOffset => _registerSelect,
        WindowOffset => ReadRegister(_registerSelect),
        _ => 0,
    };

    /// <inheritdoc/>
    public void Write(RegionOffset offset, int sizeInBytes, ulong value)
    {
        switch (offset.Value)
        {
            case RegisterSelectOffset:
                _registerSelect = (byte)value; // bits 7:0 select the register; 31:8 are reserved
                break;
            case WindowOffset:
                WriteRegister(_registerSelect, (uint)value);
                break;
            default:
                break;
        }
    }

    /// <summary>Power-on state: ID from the options, IOREGSEL 0, every entry masked with its other bits 0 (the datasheet leaves them undefined). Input levels are kept: devices keep driving their lines.</summary>
    public void Reset()
    {
        _id = _options.Id;
        _registerSelect = 0;
        Array.Fill(_entries, EntryMasked);
    }

    /// <inheritdoc/>
    public void OnEndOfInterrupt(byte vector)
    {
        for (int pin = 0; pin < PinCount; pin++)
        {
            ulong entry = _entries[pin];
            if ((entry & EntryRemoteIrr) != 0 && (entry & EntryVectorMask) == vector && (entry & EntryLevelTriggered) != 0)
            {
                _entries[pin] = entry & ~EntryRemoteIrr;
                Observer?.OnInterruptEvent(Name, $"EOI of vector {vector:X2}h clears remote IRR of pin {pin}");

                // A line still asserted asks again (datasheet 3.2.4, remote IRR).
                ServiceLevel(pin);
            }
        }
    }

    /// <inheritdoc/>
    public IoApicState SaveState() => new(IoApicState.CurrentVersion, _id, _registerSelect, [.. _entries], _levels);

    /// <inheritdoc/>
    public void RestoreState(IoApicState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (state.Version != IoApicState.CurrentVersion)
        {
            throw new ArgumentException($"IoApicState.Version {state.Version} is not supported (expected {IoApicState.CurrentVersion}).", nameof(state));
        }

        if (state.RedirectionTable is null || state.RedirectionTable.Length != PinCount)
        {
            throw new ArgumentException($"IoApicState.RedirectionTable must hold {PinCount} entries.", nameof(state));
        }

        if (state.Id > IdMask || (state.InputLevels >> PinCount) != 0)
        {
            throw new ArgumentException($"IoApicState.Id {state.Id} is not 0-15 or InputLevels {state.InputLevels:X}h names a pin above 23.", nameof(state));
        }

        _id = state.Id;
        _registerSelect = state.RegisterSelect;
        for (int pin = 0; pin < PinCount; pin++)
        {
            _entries[pin] = state.RedirectionTable[pin] & (((ulong)EntryHighWritable << 32) | EntryLowWritable | EntryRemoteIrr);
        }

        _levels = state.InputLevels;
    }

    private uint ReadRegister(int register)
    {
        switch (register)
        {
            case RegId:
                return (uint)_id << IdShift;
            case RegVersion:
                return VersionRegisterValue;
            case RegArbitration:
                // The arbitration ID is loaded from the ID (datasheet 3.2.3); with one APIC bus agent it stays there.
                return (uint)_id << IdShift;
            case >= RegRedirectionBase and < RegRedirectionBase + (2 * PinCount):
            {
                int pin = (register - RegRedirectionBase) >> 1;
                return (register & 1) == 0 ? (uint)_entries[pin] : (uint)(_entries[pin] >> 32);
            }

            default:
                Misuse("read of an undefined register", register);
                return 0;
        }
    }

    private void WriteRegister(int register, uint value)
    {
        switch (register)
        {
            case RegId:
                Trace("IOAPICID", value);
                _id = (byte)((value >> IdShift) & IdMask);
                break;
            case >= RegRedirectionBase and < RegRedirectionBase + (2 * PinCount):
            {
                int pin = (register - RegRedirectionBase) >> 1;
                ulong entry = _entries[pin];
                if ((register & 1) == 0)
                {
                    Trace(pin, "low", value);
                    entry = (entry & ~(ulong)EntryLowWritable) | (value & EntryLowWritable);
                    if ((entry & EntryLevelTriggered) == 0)
                    {
                        entry &= ~EntryRemoteIrr; // remote IRR is undefined for edge-triggered entries: keep it clear
                    }
                }
                else
                {
                    Trace(pin, "high", value);
                    entry = (entry & 0xFFFF_FFFFUL) | ((ulong)(value & EntryHighWritable) << 32);
                }

                _entries[pin] = entry;

                // An unmasked level-triggered pin that is asserted asks at once.
                ServiceLevel(pin);
                break;
            }

            case RegVersion:
            case RegArbitration:
                break; // read-only
            default:
                Misuse("write of an undefined register", register);
                break;
        }
    }

    private void Trace(string register, uint value) => Observer?.OnRegisterWrite(Name, register, value);

    private void Trace(int pin, string half, uint value)
    {
        if (Observer is { } observer)
        {
            observer.OnRegisterWrite(Name, $"redirection {pin} {half}", value);
        }
    }

    private void OnInputChanged(int pin, bool level)
    {
        uint bit = 1u << pin;
        bool wasHigh = (_levels & bit) != 0;
        _levels = level ? _levels | bit : _levels & ~bit;
        ulong entry = _entries[pin];
        if ((entry & EntryLevelTriggered) != 0)
        {
            ServiceLevel(pin);
        }
        else if (level && !wasHigh && (entry & EntryMasked) == 0)
        {
            // Datasheet 3.2.4: an edge on a masked pin is lost, not held pending.
            Send(pin, levelTriggered: false);
        }
    }

    /// <summary>A level-triggered pin that is asserted, unmasked and without remote IRR sends its message.</summary>
    private void ServiceLevel(int pin)
    {
        ulong entry = _entries[pin];
        if ((entry & EntryLevelTriggered) != 0 && (entry & (EntryMasked | EntryRemoteIrr)) == 0 && (_levels & (1u << pin)) != 0)
        {
            if (Send(pin, levelTriggered: true))
            {
                _entries[pin] |= EntryRemoteIrr;
            }
        }
    }

    private bool Send(int pin, bool levelTriggered)
    {
        ulong entry = _entries[pin];
        var mode = (ApicDeliveryMode)((entry >> EntryDeliveryModeShift) & 7);
        byte vector = (byte)(entry & EntryVectorMask);
        bool logical = (entry & EntryLogicalDestination) != 0;
        byte destination = (byte)(entry >> EntryDestinationShift);
        if (mode is not (ApicDeliveryMode.Fixed or ApicDeliveryMode.LowestPriority or ApicDeliveryMode.Nmi or ApicDeliveryMode.ExtInt))
        {
            Misuse($"pin {pin}: delivery mode {mode} is not emulated", (int)mode);
        }

        // Only fixed and lowest-priority messages carry a trigger mode the local APIC records (NMI, ExtINT are edge).
        bool level = levelTriggered && mode is ApicDeliveryMode.Fixed or ApicDeliveryMode.LowestPriority;
        bool accepted = Target?.DeliverInterrupt(mode, vector, level, logical, destination) ?? false;
        if (!accepted)
        {
            UndeliveredMessageCount++;
        }

        if (Observer is { } observer)
        {
            observer.OnInterruptEvent(
                Name,
                $"pin {pin} -> {mode} vector {vector:X2}h {(levelTriggered ? "level" : "edge")} to {(logical ? "logical" : "physical")} {destination:X2}h, {(accepted ? "accepted" : "not accepted")}");
        }

        return accepted && level;
    }

    private void Misuse(string what, int value)
    {
        GuestMisuseCount++;
        if (GuestMisuseCount <= MaxLoggedMisuses && _logger.IsEnabled(LogLevel.Debug))
        {
            LogMisuse(_logger, what, value);
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "IOAPIC: guest misuse: {What} ({Value:X}h).")]
    private static partial void LogMisuse(ILogger logger, string what, int value);
}
