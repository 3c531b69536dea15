using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Virt.Memory;

namespace Virt.Devices;

/// <summary>
/// The Intel 8254 programmable interval timer (datasheet 231164) as wired in a PC: three counters on a 1.193182 MHz
/// clock at ports 40h-43h; counter 0's OUT drives IRQ 0, counters 0 and 1 have GATE tied high, counter 2's GATE and OUT
/// go through port 61h (<see cref="SystemControlPortB"/>). All six modes, binary and BCD, LSB/MSB/LSB-then-MSB access,
/// counter latch and read-back commands. Counts are computed from virtual time when read; the only clock event is the
/// next rising edge of counter 0's OUT.
/// </summary>
/// <seealso href="https://wiki.osdev.org/Programmable_Interval_Timer"/>
public sealed partial class Pit8254 : IPortMappedDevice, IStatefulDevice<Pit8254State>
{
    /// <summary>The PC's input clock: 14.31818 MHz / 12.</summary>
    public const long InputClockHertz = 1_193_182;

    private const long NanosecondsPerSecond = 1_000_000_000;
    private const int MaxLoggedMisuses = 32;

    private readonly IVirtualClock _clock;
    private readonly IInterruptLine? _irq0;
    private readonly IDeviceTimer _irqTimer;
    private readonly ILogger _logger;
    private readonly Pit8254Counter[] _counters = [new(), new(), new()];
    private long _scheduledEdgeTick = long.MaxValue;

    /// <summary>Creates the timer at its power-on state.</summary>
    /// <param name="clock">The machine's virtual clock.</param>
    /// <param name="irq0">The line counter 0's OUT drives (IRQ 0), or null.</param>
    /// <param name="logger">A logger for guest misuse (debug level, the first few); null for none.</param>
    /// <param name="basePort">The first of the four ports (default 40h).</param>
    public Pit8254(IVirtualClock clock, IInterruptLine? irq0, ILogger<Pit8254>? logger = null, ushort basePort = 0x40)
    {
        ArgumentNullException.ThrowIfNull(clock);
        _clock = clock;
        _irq0 = irq0;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        _irqTimer = clock.CreateTimer("PIT counter 0", OnCounter0Edge);
        PortBindings = [new PortBinding("PIT", basePort, 4, new Ports(this))];
        Reset();
    }

    /// <inheritdoc/>
    public string Name => "PIT";

    /// <inheritdoc/>
    public IReadOnlyList<PortBinding> PortBindings { get; }

    /// <summary>How many times the guest misused the timer: illegal counts (1 in modes 2 and 3), bad BCD digits, reads of the control port.</summary>
    public long GuestMisuseCount { get; private set; }

    /// <summary>The input-clock tick at a guest time: floor(ns × 1193182 / 10^9), without overflow.</summary>
    /// <param name="nanoseconds">A guest time, 0 or more.</param>
    /// <returns>The tick count.</returns>
    public static long TicksAt(long nanoseconds) =>
        ((nanoseconds / NanosecondsPerSecond) * InputClockHertz) + ((nanoseconds % NanosecondsPerSecond) * InputClockHertz / NanosecondsPerSecond);

    /// <summary>The first guest time at which <see cref="TicksAt"/> reaches <paramref name="tick"/>.</summary>
    /// <param name="tick">A tick count, 0 or more.</param>
    /// <returns>The time in nanoseconds.</returns>
    public static long TimeOfTick(long tick) =>
        ((tick / InputClockHertz) * NanosecondsPerSecond) + ((((tick % InputClockHertz) * NanosecondsPerSecond) + InputClockHertz - 1) / InputClockHertz);

    /// <summary>The OUT level of a counter now (counter 2's is bit 5 of port 61h).</summary>
    /// <param name="counter">0, 1 or 2.</param>
    /// <returns>The level.</returns>
    public bool GetOutput(int counter) => Counter(counter).Project(NowTick).Out;

    /// <summary>The count a counter runs (CR as written, 1 to 65536), for example to derive the speaker's frequency.</summary>
    /// <param name="counter">0, 1 or 2.</param>
    /// <returns>The count.</returns>
    public int GetCountRegister(int counter) => Counter(counter).CountRegister;

    /// <summary>The mode a counter was programmed to (0 to 5).</summary>
    /// <param name="counter">0, 1 or 2.</param>
    /// <returns>The mode.</returns>
    public int GetMode(int counter) => Counter(counter).Mode;

    /// <summary>Drives a counter's GATE input (on a PC only counter 2's is not tied high: port 61h bit 0).</summary>
    /// <param name="counter">0, 1 or 2.</param>
    /// <param name="level">The new level.</param>
    public void SetGate(int counter, bool level)
    {
        Pit8254Counter c = Counter(counter);
        if (c.Gate == level)
        {
            return;
        }

        long now = NowTick;
        c.Sync(now);
        c.Gate = level;
        switch (c.Mode)
        {
            case 1:
            case 5:
                if (level && c.HasCount)
                {
                    StartLoad(c, now); // a rising edge triggers (or retriggers) the count
                }

                break;
            case 2:
            case 3:
                if (!level)
                {
                    // Gate low stops counting and forces OUT high at once (datasheet, modes 2 and 3).
                    if (c.Phase is Pit8254CounterPhase.Counting or Pit8254CounterPhase.WaitingLoad)
                    {
                        c.Phase = Pit8254CounterPhase.WaitingTrigger;
                    }

                    c.Out = true;
                }
                else if (c.HasCount)
                {
                    StartLoad(c, now); // a rising edge reloads the count on the next clock
                }

                break;
            default:
                break; // modes 0 and 4: the gate only enables counting, Sync re-anchored it
        }

        if (counter == 0)
        {
            Counter0Changed();
        }
    }

    /// <summary>Power-on state: every counter in mode 0, binary, LSB-then-MSB access, no count, OUT low; counter 2's gate low.</summary>
    public void Reset()
    {
        _counters[0].PowerOn(gate: true);
        _counters[1].PowerOn(gate: true);
        _counters[2].PowerOn(gate: false);
        Counter0Changed();
    }

    /// <inheritdoc/>
    public Pit8254State SaveState()
    {
        long now = NowTick;
        foreach (Pit8254Counter c in _counters)
        {
            c.Sync(now);
        }

        return new(Pit8254State.CurrentVersion, Save(_counters[0]), Save(_counters[1]), Save(_counters[2]));
    }

    /// <inheritdoc/>
    public void RestoreState(Pit8254State state)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (state.Version != Pit8254State.CurrentVersion)
        {
            throw new ArgumentException($"Pit8254State.Version {state.Version} is not supported (expected {Pit8254State.CurrentVersion}).", nameof(state));
        }

        Validate(state.Counter0, nameof(state.Counter0));
        Validate(state.Counter1, nameof(state.Counter1));
        Validate(state.Counter2, nameof(state.Counter2));
        Load(_counters[0], state.Counter0);
        Load(_counters[1], state.Counter1);
        Load(_counters[2], state.Counter2);
        _scheduledEdgeTick = long.MaxValue;
        Counter0Changed();
    }

    private long NowTick => TicksAt(_clock.NowNanoseconds);

    private static Pit8254CounterState Save(Pit8254Counter c) => new(
        c.Mode, c.Bcd, c.Access, c.ControlBits, c.CountRegister, c.HasCount, c.NullCount, c.WriteMsbNext, c.WriteLsb,
        c.ReadMsbNext, c.CountLatched, c.OutputLatch, c.StatusLatched, c.StatusLatch, c.Gate, (int)c.Phase, c.LoadTick,
        c.AnchorTick, c.Value, c.Remaining, c.Period, c.PendingReload, c.Out);

    private static void Validate(Pit8254CounterState s, string name)
    {
        ArgumentNullException.ThrowIfNull(s, name);
        int modulus = s.Bcd ? 10000 : 65536;
        bool valid = s.Mode is >= 0 and <= 5
            && s.Access is >= 1 and <= 3
            && s.Phase is >= 0 and <= 3
            && s.CountRegister >= 1 && s.CountRegister <= modulus
            && s.Period >= 1 && s.Period <= modulus
            && s.PendingReload >= 0 && s.PendingReload <= modulus
            && s.Value >= 0 && s.Value <= modulus
            && s.LoadTick >= 0 && s.AnchorTick >= 0 && s.Remaining >= -1;
        if (!valid)
        {
            throw new ArgumentException($"Pit8254State.{name} has a field out of range: {s}.", name);
        }
    }

    private static void Load(Pit8254Counter c, Pit8254CounterState s)
    {
        c.Mode = s.Mode;
        c.Bcd = s.Bcd;
        c.Access = s.Access;
        c.ControlBits = s.ControlBits;
        c.CountRegister = s.CountRegister;
        c.HasCount = s.HasCount;
        c.NullCount = s.NullCount;
        c.WriteMsbNext = s.WriteMsbNext;
        c.WriteLsb = s.WriteLsb;
        c.ReadMsbNext = s.ReadMsbNext;
        c.CountLatched = s.CountLatched;
        c.OutputLatch = s.OutputLatch;
        c.StatusLatched = s.StatusLatched;
        c.StatusLatch = s.StatusLatch;
        c.Gate = s.Gate;
        c.Phase = (Pit8254CounterPhase)s.Phase;
        c.LoadTick = s.LoadTick;
        c.AnchorTick = s.AnchorTick;
        c.Value = s.Value;
        c.Remaining = s.Remaining;
        c.Period = s.Period;
        c.PendingReload = s.PendingReload;
        c.Out = s.Out;
    }

    private static int ToBcd(int value) =>
        (value % 10) | ((value / 10 % 10) << 4) | ((value / 100 % 10) << 8) | ((value / 1000 % 10) << 12);

    private Pit8254Counter Counter(int counter)
    {
        if (counter is < 0 or > 2)
        {
            throw new ArgumentOutOfRangeException(nameof(counter), counter, "The 8254 has counters 0, 1 and 2.");
        }

        return _counters[counter];
    }

    private static void StartLoad(Pit8254Counter c, long now)
    {
        c.Phase = Pit8254CounterPhase.WaitingLoad;
        c.LoadTick = now + 1;
    }

    private void Misuse(string what, int value)
    {
        GuestMisuseCount++;
        if (GuestMisuseCount <= MaxLoggedMisuses && _logger.IsEnabled(LogLevel.Debug))
        {
            LogMisuse(_logger, what, value);
        }
    }

    private void WriteControl(byte value)
    {
        int select = value >> 6;
        long now = NowTick;
        if (select == 3)
        {
            // Read-back command (datasheet "Read-Back Command"): bit 5 = 0 latches counts, bit 4 = 0 latches status,
            // bits 3-1 select counters 2, 1, 0. A second latch before the first is read is ignored.
            for (int i = 0; i < 3; i++)
            {
                if ((value & (2 << i)) == 0)
                {
                    continue;
                }

                Pit8254Counter c = _counters[i];
                c.Sync(now);
                if ((value & 0x10) == 0 && !c.StatusLatched)
                {
                    c.StatusLatched = true;
                    c.StatusLatch = (byte)((c.Out ? 0x80 : 0) | (c.NullCount ? 0x40 : 0) | c.ControlBits);
                }

                if ((value & 0x20) == 0)
                {
                    LatchCount(c, now);
                }
            }

            return;
        }

        Pit8254Counter counter = _counters[select];
        int access = (value >> 4) & 3;
        if (access == 0)
        {
            LatchCount(counter, now); // counter latch command
            return;
        }

        // A control word resets the counter's control logic: OUT goes to its initial state for the mode
        // (low in mode 0, high otherwise), null count is set, the byte pointers restart.
        counter.Sync(now);
        int mode = (value >> 1) & 7;
        counter.Mode = mode > 5 ? mode - 4 : mode;
        counter.Bcd = (value & 1) != 0;
        counter.Access = access;
        counter.ControlBits = (byte)(value & 0x3F);
        counter.HasCount = false;
        counter.NullCount = true;
        counter.WriteMsbNext = false;
        counter.ReadMsbNext = false;
        counter.CountLatched = false;
        counter.StatusLatched = false;
        counter.Phase = Pit8254CounterPhase.Idle;
        counter.PendingReload = 0;
        counter.Remaining = -1;
        counter.Value %= counter.Modulus;
        counter.CountRegister = Math.Min(counter.CountRegister, counter.Modulus);
        counter.Period = Math.Min(counter.Period, counter.Modulus);
        counter.Out = counter.Mode != 0;
        if (select == 0)
        {
            Counter0Changed();
        }
    }

    private void LatchCount(Pit8254Counter c, long now)
    {
        if (c.CountLatched)
        {
            return;
        }

        int value = c.Project(now).Value;
        c.OutputLatch = (ushort)(c.Bcd ? ToBcd(value) : value);
        c.CountLatched = true;
    }

    private byte ReadCounter(int index)
    {
        Pit8254Counter c = _counters[index];
        if (c.StatusLatched)
        {
            c.StatusLatched = false;
            return c.StatusLatch;
        }

        ushort word;
        if (c.CountLatched)
        {
            word = c.OutputLatch;
        }
        else
        {
            int value = c.Project(NowTick).Value;
            word = (ushort)(c.Bcd ? ToBcd(value) : value);
        }

        bool msb = c.Access == 2 || (c.Access == 3 && c.ReadMsbNext);
        bool done = c.Access != 3 || c.ReadMsbNext;
        if (c.Access == 3)
        {
            c.ReadMsbNext = !c.ReadMsbNext;
        }

        if (done)
        {
            c.CountLatched = false;
        }

        return msb ? (byte)(word >> 8) : (byte)word;
    }

    private void WriteCounter(int index, byte value)
    {
        Pit8254Counter c = _counters[index];
        long now = NowTick;
        int raw;
        switch (c.Access)
        {
            case 1:
                raw = value;
                break;
            case 2:
                raw = value << 8;
                break;
            default:
                if (!c.WriteMsbNext)
                {
                    c.WriteLsb = value;
                    c.WriteMsbNext = true;
                    if (c.Mode == 0)
                    {
                        // Mode 0: writing the first byte stops counting and sets OUT low.
                        c.Sync(now);
                        c.Phase = Pit8254CounterPhase.Idle;
                        c.Out = false;
                        if (index == 0)
                        {
                            Counter0Changed();
                        }
                    }

                    return;
                }

                raw = c.WriteLsb | (value << 8);
                c.WriteMsbNext = false;
                break;
        }

        int count = raw;
        if (c.Bcd)
        {
            count = 0;
            bool badDigit = false;
            for (int shift = 12; shift >= 0; shift -= 4)
            {
                int digit = (raw >> shift) & 0xF;
                if (digit > 9)
                {
                    badDigit = true;
                    digit = 9;
                }

                count = (count * 10) + digit;
            }

            if (badDigit)
            {
                Misuse("BCD count with a digit above 9", raw);
            }
        }

        if (count == 0)
        {
            count = c.Modulus;
        }

        if (count == 1 && c.Mode is 2 or 3)
        {
            Misuse("count of 1 in mode 2 or 3", count);
        }

        c.Sync(now);
        c.CountRegister = count;
        c.HasCount = true;
        c.NullCount = true;
        switch (c.Mode)
        {
            case 0:
                c.Out = false;
                StartLoad(c, now);
                break;
            case 4:
                StartLoad(c, now);
                break;
            case 1:
            case 5:
                if (c.Phase == Pit8254CounterPhase.Idle)
                {
                    c.Phase = Pit8254CounterPhase.WaitingTrigger;
                }

                break;
            default:
                if (c.Phase == Pit8254CounterPhase.Counting)
                {
                    c.PendingReload = count;
                }
                else if (c.Gate)
                {
                    StartLoad(c, now);
                }
                else
                {
                    c.Phase = Pit8254CounterPhase.WaitingTrigger;
                }

                break;
        }

        if (index == 0)
        {
            Counter0Changed();
        }
    }

    /// <summary>After a change to counter 0: drives IRQ 0 to OUT's level now and schedules the next rising edge.</summary>
    private void Counter0Changed()
    {
        Pit8254Counter c = _counters[0];
        long now = NowTick;
        c.Sync(now);
        _irq0?.SetLevel(c.Out);
        ScheduleCounter0(now);
    }

    private void ScheduleCounter0(long afterTick)
    {
        long edge = _counters[0].NextRisingEdge(afterTick);
        _scheduledEdgeTick = edge;
        if (edge == long.MaxValue)
        {
            _irqTimer.Cancel();
        }
        else
        {
            _irqTimer.ScheduleAt(TimeOfTick(edge));
        }
    }

    private void OnCounter0Edge()
    {
        // OUT's short low phases (one clock in mode 2) are not separate events: the line is lowered and raised here, at
        // the rising edge, so the PIC sees one edge per period. Edges missed while the host was late collapse into one.
        long edge = _scheduledEdgeTick;
        long now = Math.Max(NowTick, edge);
        Pit8254Counter c = _counters[0];
        c.Sync(now);
        if (_irq0 is not null)
        {
            _irq0.SetLevel(false);
            _irq0.SetLevel(true);
            if (!c.Out)
            {
                _irq0.SetLevel(false);
            }
        }

        ScheduleCounter0(now);
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "PIT: guest misuse: {What} (value {Value}).")]
    private static partial void LogMisuse(ILogger logger, string what, int value);

    /// <summary>Ports 40h-42h (counters) and 43h (control word, write-only).</summary>
    private sealed class Ports(Pit8254 owner) : IPortDevice
    {
        public AccessWidths SupportedWidths => AccessWidths.Byte;

        public uint Read(ushort offset, int sizeInBytes)
        {
            if (offset == 3)
            {
                owner.Misuse("read of the control word register", 0);
                return 0xFF;
            }

            return owner.ReadCounter(offset);
        }

        public void Write(ushort offset, int sizeInBytes, uint value)
        {
            if (offset == 3)
            {
                owner.WriteControl((byte)value);
            }
            else
            {
                owner.WriteCounter(offset, (byte)value);
            }
        }
    }
}
