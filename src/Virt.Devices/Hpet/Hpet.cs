using Virt.Memory;

namespace Virt.Devices;

/// <summary>
/// The High Precision Event Timer (IA-PC HPET Specification 1.0a) as the PC board has it at FED00000h: a 64-bit main
/// counter at 100 MHz (10 ns, as QEMU) on the virtual clock, and three 64-bit comparators, each one-shot or periodic,
/// edge or level, 64- or 32-bit, routed to an I/O APIC pin (Tn_INT_ROUTE_CNF) or, in legacy replacement mode
/// (LEG_RT_CNF), timer 0 to IRQ0 and timer 1 to IRQ8 while the PIT and RTC are cut off those lines
/// (<see cref="LegacyReplacementChanged"/>). Not emulated: FSB (message) delivery, which the capabilities do not offer.
/// </summary>
/// <seealso href="https://www.intel.com/content/dam/www/public/us/en/documents/technical-specifications/software-developers-hpet-spec-1-0a.pdf"/>
public sealed class Hpet : IMmioDevice, IStatefulDevice<HpetState>
{
    /// <summary>The window's physical address on the PC.</summary>
    public const ulong DefaultBaseAddress = 0xFED0_0000;

    /// <summary>The size of the register window (1 KiB, spec 2.3).</summary>
    public const ulong WindowSizeInBytes = 0x400;

    /// <summary>The number of timers (comparators).</summary>
    public const int TimerCount = 3;

    /// <summary>The main counter's period in femtoseconds: 10 ns, a 100 MHz counter.</summary>
    public const uint CounterPeriodFemtoseconds = 10_000_000;

    /// <summary>The main counter's period in guest nanoseconds.</summary>
    public const long CounterPeriodNanoseconds = 10;

    /// <summary>The vendor ID in GCAP_ID: Intel.</summary>
    public const ushort VendorId = 0x8086;

    // Register offsets (spec 2.3.1, Table 2).
    private const ulong RegCapabilities = 0x000;
    private const ulong RegConfiguration = 0x010;
    private const ulong RegInterruptStatus = 0x020;
    private const ulong RegMainCounter = 0x0F0;
    private const ulong RegTimerBase = 0x100;
    private const ulong TimerStride = 0x20;
    private const ulong TimerConfigOffset = 0x00;
    private const ulong TimerComparatorOffset = 0x08;

    // GCAP_ID (spec 2.3.4): revision 1, NUM_TIM_CAP = timers - 1, COUNT_SIZE_CAP, LEG_RT_CAP, vendor, period.
    private const ulong RevisionId = 1;
    private const int NumTimersShift = 8;
    private const ulong CountSize64 = 1UL << 13;
    private const ulong LegacyRouteCapable = 1UL << 15;
    private const int VendorShift = 16;
    private const int PeriodShift = 32;

    // GEN_CONF (spec 2.3.5).
    private const ulong EnableCnf = 1UL << 0;
    private const ulong LegacyRouteCnf = 1UL << 1;

    // Tn_CONF_CAP (spec 2.3.8).
    private const ulong TimerLevelTriggered = 1UL << 1;
    private const ulong TimerInterruptEnable = 1UL << 2;
    private const ulong TimerPeriodic = 1UL << 3;
    private const ulong TimerPeriodicCapable = 1UL << 4;
    private const ulong TimerSize64Capable = 1UL << 5;
    private const ulong TimerValueSet = 1UL << 6;
    private const ulong Timer32BitMode = 1UL << 8;
    private const int TimerRouteShift = 9;
    private const ulong TimerRouteMask = 0x1FUL << TimerRouteShift;
    private const int TimerRouteCapShift = 32;
    private const ulong TimerWritable = TimerLevelTriggered | TimerInterruptEnable | TimerPeriodic | TimerValueSet | Timer32BitMode | TimerRouteMask;

    private const ulong LowHalf = 0xFFFF_FFFF;
    private const ulong TwoToThe32 = 1UL << 32;
    private const int LegacyIrq0Timer = 0;
    private const int LegacyIrq8Timer = 1;

    private readonly IVirtualClock _clock;
    private readonly IReadOnlyList<IInterruptLine?> _ioApicPins;
    private readonly IInterruptLine? _legacyIrq0;
    private readonly IInterruptLine? _legacyIrq8;
    private readonly HpetOptions _options;
    private readonly Timer[] _timers = new Timer[TimerCount];
    private ulong _configuration;
    private ulong _status;
    private ulong _counterBase;
    private long _counterAnchor;

    /// <summary>Creates the HPET in its power-on state (halted, every timer disabled).</summary>
    /// <param name="clock">The machine's virtual clock.</param>
    /// <param name="ioApicPins">The I/O APIC's input pins by number (null entries or a short list: not connected); null for none.</param>
    /// <param name="legacyIrq0">The line timer 0 drives in legacy replacement mode (ISA IRQ0: 8259 IR0, I/O APIC pin 2); null for none.</param>
    /// <param name="legacyIrq8">The line timer 1 drives in legacy replacement mode (ISA IRQ8); null for none.</param>
    /// <param name="options">The routing capability; null for the defaults.</param>
    public Hpet(IVirtualClock clock, IReadOnlyList<IInterruptLine?>? ioApicPins, IInterruptLine? legacyIrq0, IInterruptLine? legacyIrq8, HpetOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(clock);
        _clock = clock;
        _ioApicPins = ioApicPins ?? [];
        _legacyIrq0 = legacyIrq0;
        _legacyIrq8 = legacyIrq8;
        _options = options ?? new HpetOptions();
        for (int i = 0; i < TimerCount; i++)
        {
            int index = i;
            _timers[i] = new Timer(clock.CreateTimer($"HPET timer {i}", () => OnTimer(index)));
        }

        Reset();
    }

    /// <inheritdoc/>
    public string Name => "HPET";

    /// <inheritdoc/>
    public AccessWidths SupportedWidths => AccessWidths.DoubleWord | AccessWidths.QuadWord;

    /// <summary>
    /// Called with the new value whenever LEG_RT_CNF changes (and after a reset or restore): the board then cuts the PIT
    /// off IRQ0 and the RTC off IRQ8 (true) or reconnects them (false), as the spec's Figure 5 shows.
    /// </summary>
    public Action<bool>? LegacyReplacementChanged { get; set; }

    /// <summary>Whether the HPET is in legacy replacement mode (LEG_RT_CNF).</summary>
    public bool LegacyReplacementEnabled => (_configuration & LegacyRouteCnf) != 0;

    /// <summary>Whether the main counter runs (ENABLE_CNF).</summary>
    public bool IsEnabled => (_configuration & EnableCnf) != 0;

    /// <summary>The main counter's value now.</summary>
    public ulong MainCounter => IsEnabled ? _counterBase + (ulong)((_clock.NowNanoseconds - _counterAnchor) / CounterPeriodNanoseconds) : _counterBase;

    /// <summary>GCAP_ID: the general capabilities and ID register.</summary>
    public static ulong Capabilities =>
        RevisionId | ((ulong)(TimerCount - 1) << NumTimersShift) | CountSize64 | LegacyRouteCapable | ((ulong)VendorId << VendorShift) | ((ulong)CounterPeriodFemtoseconds << PeriodShift);

    /// <inheritdoc/>
    public ulong Read(RegionOffset offset, int sizeInBytes)
    {
        ulong register = ReadRegister(offset.Value & ~7UL);
        if (sizeInBytes == 8)
        {
            return register;
        }

        return (offset.Value & 4) != 0 ? register >> 32 : register & LowHalf;
    }

    /// <inheritdoc/>
    public void Write(RegionOffset offset, int sizeInBytes, ulong value)
    {
        ulong mask = sizeInBytes == 8 ? ulong.MaxValue : (offset.Value & 4) != 0 ? LowHalf << 32 : LowHalf;
        if (sizeInBytes != 8 && (offset.Value & 4) != 0)
        {
            value <<= 32;
        }

        WriteRegister(offset.Value & ~7UL, value & mask, mask);
    }

    /// <summary>Power-on state (spec 2.3): halted at counter 0, legacy replacement off, every timer disabled with its comparator all ones.</summary>
    public void Reset()
    {
        bool hadLegacy = LegacyReplacementEnabled;
        _configuration = 0;
        _status = 0;
        _counterBase = 0;
        _counterAnchor = _clock.NowNanoseconds;
        foreach (Timer t in _timers)
        {
            t.Configuration = 0;
            t.Comparator = ulong.MaxValue;
            t.Period = 0;
            t.Armed = false;
            t.Event.Cancel();
        }

        UpdateOutputs();
        if (hadLegacy)
        {
            LegacyReplacementChanged?.Invoke(false);
        }
    }

    /// <inheritdoc/>
    public HpetState SaveState() => new(
        HpetState.CurrentVersion,
        _configuration,
        _status,
        _counterBase,
        _counterAnchor,
        [.. _timers.Select(t => new HpetTimerState(t.Configuration, t.Comparator, t.Period, t.Armed, t.ArmedTick))]);

    /// <inheritdoc/>
    public void RestoreState(HpetState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (state.Version != HpetState.CurrentVersion)
        {
            throw new ArgumentException($"HpetState.Version {state.Version} is not supported (expected {HpetState.CurrentVersion}).", nameof(state));
        }

        if (state.Timers is null || state.Timers.Length != TimerCount || state.Timers.Any(t => t is null))
        {
            throw new ArgumentException($"HpetState.Timers must hold {TimerCount} timers.", nameof(state));
        }

        _configuration = state.Configuration & (EnableCnf | LegacyRouteCnf);
        _status = state.InterruptStatus & ((1UL << TimerCount) - 1);
        _counterBase = state.CounterBase;
        _counterAnchor = state.CounterAnchorNanoseconds;
        for (int i = 0; i < TimerCount; i++)
        {
            HpetTimerState s = state.Timers[i];
            Timer t = _timers[i];
            t.Configuration = s.Configuration & TimerWritable;
            t.Comparator = s.Comparator;
            t.Period = s.Period;
            t.Armed = s.Armed;
            t.ArmedTick = s.ArmedTick;
            Schedule(t);
        }

        UpdateOutputs();
        LegacyReplacementChanged?.Invoke(LegacyReplacementEnabled);
    }

    private ulong ReadRegister(ulong register)
    {
        switch (register)
        {
            case RegCapabilities:
                return Capabilities;
            case RegConfiguration:
                return _configuration;
            case RegInterruptStatus:
                return _status;
            case RegMainCounter:
                return MainCounter;
            case >= RegTimerBase and < RegTimerBase + (TimerCount * TimerStride):
            {
                Timer t = _timers[(int)((register - RegTimerBase) / TimerStride)];
                return ((register - RegTimerBase) % TimerStride) switch
                {
                    TimerConfigOffset => t.Configuration | TimerPeriodicCapable | TimerSize64Capable | ((ulong)_options.InterruptRouteCapability << TimerRouteCapShift),
                    TimerComparatorOffset => (t.Configuration & Timer32BitMode) != 0 ? t.Comparator & LowHalf : t.Comparator,
                    _ => 0, // Tn_FSB_INT_ROUTE: FSB delivery is not offered
                };
            }

            default:
                return 0;
        }
    }

    private void WriteRegister(ulong register, ulong value, ulong mask)
    {
        switch (register)
        {
            case RegConfiguration:
                WriteConfiguration((_configuration & ~mask) | (value & mask));
                break;
            case RegInterruptStatus:
                // Spec 2.3.6: writing 1 clears a level-triggered timer's status bit (and its interrupt); 0 does nothing.
                _status &= ~(value & ((1UL << TimerCount) - 1));
                UpdateOutputs();
                break;
            case RegMainCounter:
                // Spec 2.3.7: software should halt the counter first; a write while running re-anchors it all the same.
                _counterBase = (MainCounter & ~mask) | (value & mask);
                _counterAnchor = _clock.NowNanoseconds;
                ArmAll();
                break;
            case >= RegTimerBase and < RegTimerBase + (TimerCount * TimerStride):
            {
                int index = (int)((register - RegTimerBase) / TimerStride);
                switch ((register - RegTimerBase) % TimerStride)
                {
                    case TimerConfigOffset:
                        WriteTimerConfiguration(_timers[index], value, mask);
                        break;
                    case TimerComparatorOffset:
                        WriteComparator(_timers[index], value, mask);
                        break;
                    default:
                        break;
                }

                break;
            }

            default:
                break; // GCAP_ID and the reserved registers are read-only
        }
    }

    private void WriteConfiguration(ulong value)
    {
        value &= EnableCnf | LegacyRouteCnf;
        ulong old = _configuration;
        if (((old ^ value) & EnableCnf) != 0)
        {
            if ((value & EnableCnf) != 0)
            {
                _counterAnchor = _clock.NowNanoseconds; // the counter resumes from where it halted
            }
            else
            {
                _counterBase = MainCounter;
            }
        }

        _configuration = value;
        if (((old ^ value) & EnableCnf) != 0)
        {
            ArmAll();
        }

        UpdateOutputs();
        if (((old ^ value) & LegacyRouteCnf) != 0)
        {
            LegacyReplacementChanged?.Invoke(LegacyReplacementEnabled);
        }
    }

    private void WriteTimerConfiguration(Timer t, ulong value, ulong mask)
    {
        ulong written = (t.Configuration & ~mask) | (value & mask);
        ulong updated = written & TimerWritable;
        int route = (int)((updated & TimerRouteMask) >> TimerRouteShift);
        if ((_options.InterruptRouteCapability & (1u << route)) == 0)
        {
            // Spec 2.3.8: an unsupported route is not taken; software reads back the old one to find out.
            updated = (updated & ~TimerRouteMask) | (t.Configuration & TimerRouteMask);
        }

        if ((updated & Timer32BitMode) != 0)
        {
            t.Comparator &= LowHalf;
            t.Period &= LowHalf;
        }

        if ((updated & TimerLevelTriggered) == 0 || (updated & TimerInterruptEnable) == 0)
        {
            _status &= ~(1UL << Array.IndexOf(_timers, t));
        }

        t.Configuration = updated;
        Arm(t, fresh: true);
        UpdateOutputs();
    }

    /// <summary>
    /// Tn_COMPARATOR (spec 2.3.9): a one-shot timer takes the value; a periodic one takes it as its period and, when
    /// Tn_VAL_SET_CNF is set, as the comparator too; the write clears Tn_VAL_SET_CNF.
    /// </summary>
    private void WriteComparator(Timer t, ulong value, ulong mask)
    {
        if ((t.Configuration & Timer32BitMode) != 0)
        {
            mask &= LowHalf;
            value &= LowHalf;
        }

        bool periodic = (t.Configuration & TimerPeriodic) != 0;
        if (!periodic || (t.Configuration & TimerValueSet) != 0)
        {
            t.Comparator = (t.Comparator & ~mask) | (value & mask);
        }

        if (periodic)
        {
            t.Period = (t.Period & ~mask) | (value & mask);
        }

        t.Configuration &= ~TimerValueSet;
        Arm(t, fresh: true);
    }

    private void ArmAll()
    {
        foreach (Timer t in _timers)
        {
            Arm(t, fresh: true);
        }
    }

    /// <summary>
    /// Works out the counter value of the timer's next interrupt from <paramref name="from"/> (that value itself
    /// counts when <paramref name="fresh"/>): where the comparator matches, and for a 32-bit one-shot timer also where the
    /// low 32 bits wrap to 0 (spec 2.3.9.2.1). A 64-bit comparator behind the counter would need a 2^64 wrap: never.
    /// </summary>
    private void Arm(Timer t, bool fresh, ulong? from = null)
    {
        t.Armed = false;
        if (IsEnabled)
        {
            ulong c = from ?? MainCounter;
            if ((t.Configuration & Timer32BitMode) != 0)
            {
                ulong untilMatch = (uint)((uint)t.Comparator - (uint)c);
                if (untilMatch == 0 && !fresh)
                {
                    untilMatch = TwoToThe32;
                }

                ulong delta = untilMatch;
                if ((t.Configuration & TimerPeriodic) == 0)
                {
                    ulong untilWrap = (uint)(0u - (uint)c);
                    delta = Math.Min(delta, untilWrap == 0 ? TwoToThe32 : untilWrap);
                }

                t.Armed = true;
                t.ArmedTick = c + delta;
            }
            else if (t.Comparator > c || (fresh && t.Comparator == c))
            {
                t.Armed = true;
                t.ArmedTick = t.Comparator;
            }
        }

        Schedule(t);
    }

    private void Schedule(Timer t)
    {
        if (!t.Armed || !IsEnabled)
        {
            t.Event.Cancel();
            return;
        }

        ulong ticks = t.ArmedTick - _counterBase;
        if (ticks > (ulong)(VirtualClock.MaxNanoseconds / CounterPeriodNanoseconds))
        {
            t.Event.Cancel(); // beyond the end of guest time
            return;
        }

        t.Event.ScheduleAt(_counterAnchor + ((long)ticks * CounterPeriodNanoseconds));
    }

    private void OnTimer(int index)
    {
        Timer t = _timers[index];
        if (!t.Armed || !IsEnabled)
        {
            return;
        }

        ulong fired = t.ArmedTick;
        ulong now = MainCounter;
        if ((t.Configuration & TimerPeriodic) != 0 && t.Period != 0)
        {
            // Spec 2.3.9.2.2: the comparator advances by the period; matches missed while the clock jumped collapse.
            ulong periods = now > fired ? ((now - fired) / t.Period) + 1 : 1;
            if (periods > (ulong.MaxValue - fired) / t.Period)
            {
                // The next match lies beyond the 64-bit counter's wrap (a period near 2^64): never, as in Arm.
                t.Armed = false;
                t.Event.Cancel();
            }
            else
            {
                ulong next = fired + (periods * t.Period);
                t.Comparator = (t.Configuration & Timer32BitMode) != 0 ? next & LowHalf : next;
                t.Armed = true;
                t.ArmedTick = next;
                Schedule(t);
            }
        }
        else if ((t.Configuration & Timer32BitMode) != 0)
        {
            Arm(t, fresh: false, from: fired);
        }
        else
        {
            t.Armed = false;
        }

        Interrupt(index);
    }

    private void Interrupt(int index)
    {
        Timer t = _timers[index];
        if ((t.Configuration & TimerInterruptEnable) == 0)
        {
            return;
        }

        if ((t.Configuration & TimerLevelTriggered) != 0)
        {
            _status |= 1UL << index;
            UpdateOutputs();
        }
        else
        {
            RouteOf(index)?.Pulse();
        }
    }

    /// <summary>The line a timer drives: IRQ0/IRQ8 in legacy replacement mode for timers 0 and 1, else its I/O APIC pin if routable.</summary>
    private IInterruptLine? RouteOf(int index)
    {
        if (LegacyReplacementEnabled && index == LegacyIrq0Timer)
        {
            return _legacyIrq0;
        }

        if (LegacyReplacementEnabled && index == LegacyIrq8Timer)
        {
            return _legacyIrq8;
        }

        int route = (int)((_timers[index].Configuration & TimerRouteMask) >> TimerRouteShift);
        return (_options.InterruptRouteCapability & (1u << route)) != 0 && route < _ioApicPins.Count ? _ioApicPins[route] : null;
    }

    /// <summary>Drives each level-triggered timer's line from its status bit (and moves it when the route changed).</summary>
    private void UpdateOutputs()
    {
        for (int i = 0; i < TimerCount; i++)
        {
            Timer t = _timers[i];
            bool active = IsEnabled && (t.Configuration & (TimerLevelTriggered | TimerInterruptEnable)) == (TimerLevelTriggered | TimerInterruptEnable)
                && (_status & (1UL << i)) != 0;
            IInterruptLine? wanted = active ? RouteOf(i) : null;
            if (!ReferenceEquals(wanted, t.AssertedLine))
            {
                t.AssertedLine?.SetLevel(false);
                t.AssertedLine = wanted;
                wanted?.SetLevel(true);
            }
        }
    }

    /// <summary>One comparator and its clock event.</summary>
    private sealed class Timer(IDeviceTimer clockEvent)
    {
        public IDeviceTimer Event { get; } = clockEvent;

        public ulong Configuration { get; set; }

        public ulong Comparator { get; set; }

        public ulong Period { get; set; }

        public bool Armed { get; set; }

        public ulong ArmedTick { get; set; }

        public IInterruptLine? AssertedLine { get; set; }
    }
}
