namespace Virt.Devices;

/// <summary>
/// One counter of an Intel 8254 (datasheet 231164, "8254 Programmable Interval Timer"). Nothing ticks: the counting
/// element (CE) and OUT are computed in closed form from the input-clock tick at which counting last changed (the
/// anchor), so a read costs O(1) and only edges of interest need a clock event. Names follow the datasheet: CR (count
/// register), CE (counting element), OL (output latch), null count, GATE, OUT.
/// </summary>
internal sealed class Pit8254Counter
{
    /// <summary>0-5 (control word modes 6 and 7 are 2 and 3).</summary>
    public int Mode { get; set; }
    public bool Bcd { get; set; }
    /// <summary>RW1 RW0: 1 = LSB, 2 = MSB, 3 = LSB then MSB.</summary>
    public int Access { get; set; } = 3;
    /// <summary>Control word bits 5-0 as written, for the read-back status byte.</summary>
    public byte ControlBits { get; set; }
    /// <summary>CR as a count, 1 to Modulus (a written 0 is the maximum count).</summary>
    public int CountRegister { get; set; }
    /// <summary>A count has been written since the control word.</summary>
    public bool HasCount { get; set; }
    public bool NullCount { get; set; }
    public bool WriteMsbNext { get; set; }
    public byte WriteLsb { get; set; }
    public bool ReadMsbNext { get; set; }
    public bool CountLatched { get; set; }
    public ushort OutputLatch { get; set; }
    public bool StatusLatched { get; set; }
    public byte StatusLatch { get; set; }
    public bool Gate { get; set; }

    // Dynamics: valid at AnchorTick (Counting) or frozen (other phases).

    public Pit8254CounterPhase Phase { get; set; }
    public long LoadTick { get; set; }
    public long AnchorTick { get; set; }
    /// <summary>Modes 0, 1, 4, 5: CE (0 to Modulus-1); mode 2: CE (1 to Modulus); mode 3: position in the period.</summary>
    public int Value { get; set; }
    /// <summary>Modes 0, 1, 4, 5: ticks until terminal count, -1 once passed.</summary>
    public long Remaining { get; set; }
    /// <summary>Modes 2 and 3: the count being run.</summary>
    public int Period { get; set; }
    /// <summary>Modes 2 and 3: a count written while counting, loaded at the end of the cycle (0 = none).</summary>
    public int PendingReload { get; set; }
    public bool Out { get; set; }

    public int Modulus => Bcd ? 10000 : 65536;

    /// <summary>Whether the CE decrements while counting: the gate enables it in modes 0, 2, 3, 4; it only triggers in 1, 5.</summary>
    public bool CountsNow => Mode is 1 or 5 || Gate;

    public void PowerOn(bool gate)
    {
        Mode = 0;
        Bcd = false;
        Access = 3;
        ControlBits = 0x30;
        CountRegister = 65536;
        HasCount = false;
        NullCount = true;
        WriteMsbNext = false;
        WriteLsb = 0;
        ReadMsbNext = false;
        CountLatched = false;
        OutputLatch = 0;
        StatusLatched = false;
        StatusLatch = 0;
        Gate = gate;
        Phase = Pit8254CounterPhase.Idle;
        LoadTick = 0;
        AnchorTick = 0;
        Value = 0;
        Remaining = -1;
        Period = 65536;
        PendingReload = 0;
        Out = true; // undefined at power-on; high, as if a mode 0 count had ended, so programming mode 2 or 3 is no edge
    }

    /// <summary>Brings the dynamics up to input-clock tick <paramref name="tick"/>.</summary>
    public void Sync(long tick)
    {
        if (Phase == Pit8254CounterPhase.WaitingLoad && tick >= LoadTick)
        {
            Load(LoadTick);
        }

        if (Phase == Pit8254CounterPhase.Counting && tick > AnchorTick)
        {
            if (CountsNow)
            {
                Evolve(tick - AnchorTick);
            }

            AnchorTick = tick;
        }
    }

    /// <summary>
    /// The counting element as a read shows it (before BCD encoding), and OUT, at <paramref name="tick"/> (not before the
    /// last sync). Syncing is idempotent, so a read simply brings the counter up to date (no allocation).
    /// </summary>
    public (int Value, bool Out) Project(long tick)
    {
        Sync(tick);
        return (DisplayValue(), Out);
    }

    /// <summary>The first input-clock tick after <paramref name="afterTick"/> at which OUT rises, or <see cref="long.MaxValue"/>. Call after Sync.</summary>
    public long NextRisingEdge(long afterTick)
    {
        long anchor;
        int value;
        long remaining;
        int period;
        int pending;
        if (Phase == Pit8254CounterPhase.WaitingLoad)
        {
            // As Load would leave it at LoadTick.
            anchor = LoadTick;
            period = CountRegister;
            pending = 0;
            remaining = CountRegister;
            value = Mode switch
            {
                2 => CountRegister,
                3 => 0,
                _ => CountRegister % Modulus,
            };
        }
        else if (Phase == Pit8254CounterPhase.Counting)
        {
            anchor = AnchorTick;
            value = Value;
            remaining = Remaining;
            period = Period;
            pending = PendingReload;
        }
        else
        {
            return long.MaxValue;
        }

        if (!CountsNow)
        {
            return long.MaxValue;
        }

        int next = pending != 0 ? pending : period;
        long edge = Mode switch
        {
            0 or 1 => remaining > 0 ? anchor + remaining : long.MaxValue,
            4 or 5 => remaining >= 0 ? anchor + remaining + 1 : long.MaxValue,

            // Mode 2: OUT rises when CE reloads (a count of 1, illegal, keeps OUT low).
            2 => next < 2 && period < 2 ? long.MaxValue : Periodic(anchor + value, next, afterTick),

            // Mode 3: OUT rises at the end of each period (a count of 1 never drives it low).
            _ => Mode3RisingEdge(anchor, value, period, pending, afterTick),
        };
        return edge > afterTick ? edge : long.MaxValue;
    }

    /// <summary>Transfers CR to CE at <paramref name="tick"/> and starts counting (datasheet: "the count is loaded on the next CLK pulse").</summary>
    public void Load(long tick)
    {
        int n = CountRegister;
        Phase = Pit8254CounterPhase.Counting;
        AnchorTick = tick;
        NullCount = false;
        PendingReload = 0;
        Period = n;
        switch (Mode)
        {
            case 0:
            case 1:
                Value = n % Modulus;
                Remaining = n;
                Out = false;
                break;
            case 2:
                Value = n;
                Out = n != 1;
                break;
            case 3:
                Value = 0;
                Out = true;
                break;
            default:
                Value = n % Modulus;
                Remaining = n;
                Out = true;
                break;
        }
    }

    private static long Mode3RisingEdge(long anchor, int position, int period, int pending, long afterTick)
    {
        int high = (period + 1) / 2;
        if (pending == 0)
        {
            return period < 2 ? long.MaxValue : Periodic(anchor + (period - position), period, afterTick);
        }

        // The new count starts at the next half-cycle boundary: in the high half it runs its low half first.
        long first = position < high
            ? anchor + (high - position) + (pending - ((pending + 1) / 2))
            : anchor + (period - position);
        if (pending < 2)
        {
            return first > afterTick ? first : long.MaxValue;
        }

        return Periodic(first, pending, afterTick);
    }

    private static long Periodic(long firstEdge, int period, long afterTick)
    {
        if (firstEdge > afterTick)
        {
            return firstEdge;
        }

        return firstEdge + (((afterTick - firstEdge) / period) + 1) * period;
    }

    private int DisplayValue()
    {
        int m = Modulus;
        if (Mode == 3 && Phase == Pit8254CounterPhase.Counting)
        {
            // Mode 3 decrements by two (datasheet, Mode 3): even N shows N, N-2 .. 2 in each half; odd N shows N-1 .. 0
            // while OUT is high and N-1 .. 2 while it is low.
            int n = Period;
            int high = (n + 1) / 2;
            int start = (n & 1) == 0 ? n : n - 1;
            int position = Value < high ? Value : Value - high;
            return Math.Max(start - (2 * position), 0) % m;
        }

        return Value % m;
    }

    private void Evolve(long k)
    {
        int m = Modulus;
        switch (Mode)
        {
            case 0:
            case 1:
                Value = (int)((((Value - k) % m) + m) % m);
                if (Remaining > 0)
                {
                    if (k >= Remaining)
                    {
                        Remaining = -1;
                        Out = true;
                    }
                    else
                    {
                        Remaining -= k;
                    }
                }

                break;
            case 4:
            case 5:
                Value = (int)((((Value - k) % m) + m) % m);
                if (Remaining >= 0)
                {
                    if (k < Remaining)
                    {
                        Remaining -= k;
                        Out = true;
                    }
                    else if (k == Remaining)
                    {
                        Remaining = 0;
                        Out = false; // the one-clock strobe at terminal count
                    }
                    else
                    {
                        Remaining = -1;
                        Out = true;
                    }
                }

                break;
            case 2:
                if (k < Value)
                {
                    Value -= (int)k;
                }
                else
                {
                    long rest = k - Value;
                    ApplyPendingReload();
                    Value = Period - (int)(rest % Period);
                }

                Out = Value != 1;
                break;
            default:
            {
                // Mode 3: OUT toggles at the end of each half-cycle, where CE reloads from CR; so a count written while
                // counting starts at the end of the current half-cycle (datasheet, Mode 3).
                int high = (Period + 1) / 2;
                bool inHigh = Value < high;
                long toBoundary = (inHigh ? high : Period) - Value;
                if (k < toBoundary)
                {
                    Value += (int)k;
                }
                else
                {
                    long rest = k - toBoundary;
                    int position = inHigh ? high : 0;
                    if (PendingReload != 0)
                    {
                        ApplyPendingReload();
                        position = inHigh ? (Period + 1) / 2 : 0;
                    }

                    Value = (int)((position + rest) % Period);
                }

                Out = Value < (Period + 1) / 2;
                break;
            }
        }
    }

    private void ApplyPendingReload()
    {
        if (PendingReload != 0)
        {
            // Datasheet, modes 2 and 3: a count written during counting is loaded at the end of the current cycle
            // (mode 3: half-cycle).
            Period = PendingReload;
            PendingReload = 0;
            NullCount = false;
        }
    }
}
