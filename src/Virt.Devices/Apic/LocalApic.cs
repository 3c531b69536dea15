using System.Globalization;
using System.Numerics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Virt.Memory;

namespace Virt.Devices;

/// <summary>
/// The local APIC of the board's one processor in xAPIC mode, and in x2APIC mode when
/// <see cref="LocalApicOptions.X2ApicSupported"/> (Intel SDM Vol. 3A, chapter 10 "Advanced Programmable Interrupt
/// Controller (APIC)"; chapter 11 in newer editions): the 4 KiB register window (at FEE00000h until
/// IA32_APIC_BASE moves it), ID, version, TPR/APR/PPR, EOI, ISR/TMR/IRR, LDR/DFR, SVR, ESR, the LVT, the timer in
/// one-shot, periodic and TSC-deadline modes on the virtual clock, and the ICR for IPIs to this processor.
/// The CPU asks <see cref="HasPendingInterrupt"/> and runs <see cref="AcknowledgeInterrupt"/> (the machine adapts it as
/// the CPU's interrupt controller); the 8259A pair stays reachable through LINT0 in ExtINT mode (virtual-wire mode), and
/// goes straight to the CPU while the APIC is globally or software-disabled, so guests that never enable the APIC see
/// the PIC alone. Not emulated: INIT, SIPI and SMI (one processor, no SMM), the thermal and
/// performance-counter sources (their LVT entries are plain registers), LINT1 (no NMI source on the board).
/// </summary>
public sealed partial class LocalApic : IMmioDevice, IApicInterruptTarget, IStatefulDevice<LocalApicState>
{
    /// <summary>The physical address of the register window after reset (IA32_APIC_BASE bits 35:12).</summary>
    public const ulong DefaultBaseAddress = 0xFEE0_0000;

    /// <summary>The size of the register window: one 4 KiB page.</summary>
    public const ulong WindowSizeInBytes = 0x1000;

    /// <summary>The IA32_APIC_BASE MSR.</summary>
    public const uint ApicBaseMsrIndex = 0x1B;

    /// <summary>The IA32_TSC_DEADLINE MSR (Intel SDM Vol. 3A, 10.5.4.1).</summary>
    public const uint TscDeadlineMsrIndex = 0x6E0;

    /// <summary>IA32_APIC_BASE bit 8: this processor is the bootstrap processor (read-only).</summary>
    public const ulong ApicBaseBsp = 1UL << 8;

    /// <summary>IA32_APIC_BASE bit 10: x2APIC mode (EXTD); refused with #GP(0) unless <see cref="X2ApicSupported"/>.</summary>
    public const ulong ApicBaseX2Apic = 1UL << 10;

    /// <summary>IA32_APIC_BASE bit 11: the APIC global enable.</summary>
    public const ulong ApicBaseGlobalEnable = 1UL << 11;

    /// <summary>IA32_APIC_BASE bits 35:12 with a 36-bit physical address width (PAE, no CPUID leaf 80000008h).</summary>
    public const ulong ApicBaseAddressMask = 0x0000_000F_FFFF_F000;

    /// <summary>The version register: version 14h (an integrated xAPIC), max LVT entry 5 (six entries, no CMCI), no EOI-broadcast suppression.</summary>
    public const uint VersionRegisterValue = 0x0005_0014;

    /// <summary>The timer's input: the processor's bus clock, 1 GHz here (one tick per guest nanosecond before the divider, like QEMU).</summary>
    public const long TimerClockHertz = 1_000_000_000;

    // Register offsets >> 4 (Intel SDM Vol. 3A, Table 10-1 "Local APIC Register Address Map").
    private const int RegId = 0x02;
    private const int RegVersion = 0x03;
    private const int RegTpr = 0x08;
    private const int RegApr = 0x09;
    private const int RegPpr = 0x0A;
    private const int RegEoi = 0x0B;
    private const int RegRrd = 0x0C;
    private const int RegLdr = 0x0D;
    private const int RegDfr = 0x0E;
    private const int RegSvr = 0x0F;
    private const int RegIsr0 = 0x10;
    private const int RegTmr0 = 0x18;
    private const int RegIrr0 = 0x20;
    private const int RegEsr = 0x28;
    private const int RegIcrLow = 0x30;
    private const int RegIcrHigh = 0x31;
    private const int RegLvt0 = 0x32;
    private const int RegInitialCount = 0x38;
    private const int RegCurrentCount = 0x39;
    private const int RegDivide = 0x3E;

    // LVT entries, in register order from 320h.
    private const int LvtTimer = 0;
    private const int LvtThermal = 1;
    private const int LvtPerformance = 2;
    private const int LvtLint0 = 3;
    private const int LvtLint1 = 4;
    private const int LvtError = 5;
    private const int LvtCount = 6;

    private const uint LvtVectorMask = 0xFF;
    private const uint LvtMasked = 1u << 16;
    private const int LvtDeliveryModeShift = 8;
    private const uint LvtTimerModeMask = 3u << 17;
    private const uint LvtTimerPeriodic = 1u << 17;
    private const uint LvtTimerTscDeadline = 2u << 17;

    // Writable bits of each LVT entry (SDM Figure 10-8): vector, delivery mode, polarity, trigger, mask, timer mode.
    private static readonly uint[] s_lvtWritable = [0x0007_00FF, 0x0001_07FF, 0x0001_07FF, 0x0001_A7FF, 0x0001_A7FF, 0x0001_00FF];
    private static readonly string[] s_lvtNames = ["LVT timer", "LVT thermal", "LVT perfmon", "LVT LINT0", "LVT LINT1", "LVT error"];

    private const uint SvrVectorMask = 0xFF;
    private const uint SvrSoftwareEnable = 1u << 8;
    private const uint SvrFocusCheckDisable = 1u << 9;
    private const uint SvrReset = 0xFF;
    private const uint DfrReset = 0xFFFF_FFFF;
    private const uint DfrModelMask = 0xF000_0000;
    private const uint DfrFlatModel = 0xF000_0000;
    private const uint LdrMask = 0xFF00_0000;
    private const uint IcrHighMask = 0xFF00_0000;
    private const uint DivideWritable = 0x0B;

    // ICR (SDM Figure 10-12): vector, delivery mode, destination mode, level, trigger mode, destination shorthand.
    private const uint IcrWritable = 0x000C_CFFF;
    private const uint IcrLogicalDestination = 1u << 11;
    private const uint IcrLevelAssert = 1u << 14;
    private const uint IcrLevelTriggered = 1u << 15;
    private const int IcrShorthandShift = 18;
    private const int ShorthandNone = 0;
    private const int ShorthandSelf = 1;
    private const int ShorthandAllIncludingSelf = 2;

    // ESR bits (SDM Figure 10-9).
    private const uint ErrorSendIllegalVector = 1u << 5;
    private const uint ErrorReceivedIllegalVector = 1u << 6;
    private const uint ErrorIllegalRegisterAddress = 1u << 7;

    /// <summary>Vectors 0-15 are illegal for APIC interrupts (SDM 10.5.2).</summary>
    private const int FirstLegalVector = 16;

    private const byte BroadcastDestination = 0xFF;
    private const int MaxLoggedMisuses = 32;

    private readonly IVirtualClock _clock;
    private readonly IDeviceTimer _timer;
    private readonly ILogger _logger;
    private readonly LocalApicOptions _options;
    private readonly uint[] _isr = new uint[8];
    private readonly uint[] _tmr = new uint[8];
    private readonly uint[] _irr = new uint[8];
    private readonly uint[] _lvt = new uint[LvtCount];

    private ulong _baseMsr;
    private byte _id;
    private byte _tpr;
    private uint _ldr;
    private uint _dfr;
    private uint _svr;
    private uint _esr;
    private uint _pendingErrors;
    private uint _icrLow;
    private uint _icrHigh;
    private uint _initialCount;
    private uint _divideConfig;
    private bool _timerArmed;
    private long _timerEpoch;
    private ulong _tscDeadline;
    private long _tscDeadlineNanoseconds;
    private bool _extIntPending;
    private bool _signallingError;

    /// <summary>Creates the local APIC in its power-on state (globally enabled at FEE00000h, software-disabled).</summary>
    /// <param name="clock">The machine's virtual clock (the timer runs on it).</param>
    /// <param name="options">The APIC ID and BSP flag; null for the defaults.</param>
    /// <param name="logger">A logger for guest misuse (debug level, the first few); null for none.</param>
    public LocalApic(IVirtualClock clock, LocalApicOptions? options = null, ILogger<LocalApic>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(clock);
        _clock = clock;
        _options = options ?? new LocalApicOptions();
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        _timer = clock.CreateTimer("LAPIC timer", OnTimer);
        Reset();
    }

    /// <inheritdoc/>
    public string Name => "LAPIC";

    /// <inheritdoc/>
    public AccessWidths SupportedWidths => AccessWidths.DoubleWord;

    /// <summary>The 8259A pair behind LINT0 (ExtINT) and the pass-through of a disabled APIC; null for none.</summary>
    public IExternalInterruptSource? ExternalInterrupts { get; set; }

    /// <summary>Where EOIs of level-triggered interrupts are broadcast (the I/O APIC); null for nowhere.</summary>
    public IEndOfInterruptListener? EndOfInterruptListener { get; set; }

    /// <summary>Raises an NMI on the processor (an NMI IPI to self, an NMI message, an LVT entry in NMI mode); null to drop them.</summary>
    public Action? NmiRequested { get; set; }

    /// <summary>Called after the register window moved or was switched on or off (IA32_APIC_BASE, reset, restore), so the board can remap it.</summary>
    public Action? WindowChanged { get; set; }

    /// <summary>Watches register writes and deliveries (tracing); null for none.</summary>
    public IApicEventObserver? Observer { get; set; }

    /// <summary>IA32_APIC_BASE: the window address, the global enable (bit 11) and the BSP flag (bit 8).</summary>
    public ulong ApicBaseMsr => _baseMsr;

    /// <summary>The physical address of the register window.</summary>
    public ulong BaseAddress => _baseMsr & ApicBaseAddressMask;

    /// <summary>Whether IA32_APIC_BASE enables the APIC (bit 11); when not, the window is not decoded and the PIC reaches the CPU directly.</summary>
    public bool IsGloballyEnabled => (_baseMsr & ApicBaseGlobalEnable) != 0;

    /// <summary>Whether software enabled the APIC (SVR bit 8).</summary>
    public bool IsSoftwareEnabled => (_svr & SvrSoftwareEnable) != 0;

    /// <summary>How many times the guest misused the APIC: reserved registers, refused MSR values, unsupported IPIs.</summary>
    public long GuestMisuseCount { get; private set; }

    /// <summary>How many INTA cycles found nothing above the processor priority and returned the spurious vector.</summary>
    public long SpuriousInterruptCount { get; private set; }

    /// <summary>Whether the 8259A reaches the processor directly: the APIC is globally or software-disabled.</summary>
    private bool PicPassThrough => (_baseMsr & ApicBaseGlobalEnable) == 0 || (_svr & SvrSoftwareEnable) == 0;

    /// <summary>
    /// The INTR line to the processor core: an ExtINT request (LINT0 in ExtINT mode or an ExtINT message, or the PIC
    /// directly while the APIC is disabled) or an IRR vector whose priority class is above the PPR's.
    /// </summary>
    public bool HasPendingInterrupt
    {
        get
        {
            if (PicPassThrough)
            {
                return ExternalInterrupts is { IsInterruptRequested: true };
            }

            if (ExtIntRequested)
            {
                return true;
            }

            return HighestDeliverableVector() >= 0;
        }
    }

    private bool ExtIntRequested =>
        _extIntPending
        || ((_lvt[LvtLint0] & LvtMasked) == 0 && (ApicDeliveryMode)((_lvt[LvtLint0] >> LvtDeliveryModeShift) & 7) == ApicDeliveryMode.ExtInt
            && ExternalInterrupts is { IsInterruptRequested: true });

    /// <summary>
    /// The INTA cycle: an ExtINT request fetches its vector from the 8259A (no IRR or ISR bit, SDM 10.5.1); otherwise the
    /// highest IRR vector above the processor priority moves to the ISR. With nothing deliverable left, the spurious
    /// vector of the SVR (SDM 10.9), which sets no ISR bit.
    /// </summary>
    /// <returns>The vector.</returns>
    public byte AcknowledgeInterrupt()
    {
        if (PicPassThrough || ExtIntRequested)
        {
            _extIntPending = false;
            if (ExternalInterrupts is { } pic)
            {
                byte picVector = pic.AcknowledgeInterrupt();
                Observer?.OnInterruptEvent(Name, $"ExtINT acknowledged: vector {Hex(picVector)} from the 8259A");
                return picVector;
            }
        }

        int vector = HighestDeliverableVector();
        if (vector < 0)
        {
            SpuriousInterruptCount++;
            return (byte)(_svr & SvrVectorMask);
        }

        Clear(_irr, vector);
        Set(_isr, vector);
        Observer?.OnInterruptEvent(Name, $"vector {Hex(vector)} delivered to the CPU (IRR -> ISR)");
        return (byte)vector;
    }

    /// <summary>
    /// WRMSR to IA32_APIC_BASE: moves the window, enables or disables the APIC. Disabling puts every register but the
    /// base in its power-on state (SDM 10.4.3); the BSP flag is read-only.
    /// </summary>
    /// <param name="value">The value written.</param>
    /// <returns>
    /// False for a value WRMSR refuses with #GP(0): reserved bits, the x2APIC enable (bit 10) on an APIC without x2APIC
    /// support, or a mode transition SDM 11.12.5 calls invalid (x2APIC to xAPIC, disabled to x2APIC, EXTD without EN).
    /// </returns>
    public bool TryWriteApicBaseMsr(ulong value)
    {
        ulong writable = ApicBaseAddressMask | ApicBaseGlobalEnable | ApicBaseBsp | (X2ApicSupported ? ApicBaseX2Apic : 0);
        if ((value & ~writable) != 0)
        {
            Misuse("IA32_APIC_BASE write with reserved or x2APIC bits", value);
            return false;
        }

        ulong newValue = (value & (ApicBaseAddressMask | ApicBaseGlobalEnable | ApicBaseX2Apic)) | (_baseMsr & ApicBaseBsp);
        if (!IsValidModeTransition(newValue))
        {
            Misuse("IA32_APIC_BASE: invalid xAPIC/x2APIC mode transition", value);
            return false;
        }

        bool disabling = IsGloballyEnabled && (newValue & ApicBaseGlobalEnable) == 0;
        bool enteringX2Apic = !IsX2ApicMode && (newValue & ApicBaseX2Apic) != 0;
        Observer?.OnRegisterWrite(Name, "IA32_APIC_BASE", value);
        if (newValue == _baseMsr)
        {
            return true;
        }

        _baseMsr = newValue;
        if (disabling)
        {
            ResetRegisters();
        }
        else if (enteringX2Apic)
        {
            // SDM 11.12.5.1: the physical x2APIC ID is kept and the logical x2APIC ID is derived from it; the other
            // registers keep their xAPIC contents. The ICR destination becomes 32 bits wide.
            _id = (byte)X2ApicId;
            _icrHigh = 0;
        }

        WindowChanged?.Invoke();
        return true;
    }

    /// <summary>RDMSR of IA32_TSC_DEADLINE: the armed deadline, or 0 when disarmed or when the timer is not in TSC-deadline mode.</summary>
    /// <returns>The value.</returns>
    public ulong ReadTscDeadline() => InTscDeadlineMode ? _tscDeadline : 0;

    /// <summary>
    /// WRMSR to IA32_TSC_DEADLINE (SDM 10.5.4.1): in TSC-deadline mode a non-zero value arms the timer for when the TSC
    /// reaches it (at once if it has), zero disarms it; in the other modes the write is ignored.
    /// </summary>
    /// <param name="value">The deadline in TSC ticks.</param>
    /// <param name="timestampCounterNow">The TSC now, which ticks once per guest nanosecond.</param>
    public void WriteTscDeadline(ulong value, ulong timestampCounterNow)
    {
        Observer?.OnRegisterWrite(Name, "IA32_TSC_DEADLINE", value);
        if (!InTscDeadlineMode)
        {
            return;
        }

        _tscDeadline = value;
        if (value == 0)
        {
            _timer.Cancel();
            return;
        }

        long now = _clock.NowNanoseconds;
        ulong delta = value > timestampCounterNow ? value - timestampCounterNow : 0;
        _tscDeadlineNanoseconds = delta > (ulong)(VirtualClock.MaxNanoseconds - now) ? long.MaxValue : now + (long)delta;
        ScheduleTimer();
    }

    /// <inheritdoc/>
    public bool DeliverInterrupt(ApicDeliveryMode mode, byte vector, bool levelTriggered, bool logicalDestination, byte destination)
    {
        if (!IsGloballyEnabled || !MatchesDestination(logicalDestination, destination))
        {
            return false;
        }

        Accept(mode, vector, levelTriggered, "message");
        return true;
    }

    /// <inheritdoc/>
    public ulong Read(RegionOffset offset, int sizeInBytes)
    {
        if ((offset.Value & 0xF) != 0 || IsX2ApicMode)
        {
            // In x2APIC mode the window is not decoded (SDM 11.12.1.2); the board also takes it off the memory map.
            // Only the first doubleword of each 16-byte slot is a register (SDM 10.4.1: 128-bit aligned).
            return 0;
        }

        return ReadRegister((int)(offset.Value >> 4));
    }

    /// <inheritdoc/>
    public void Write(RegionOffset offset, int sizeInBytes, ulong value)
    {
        if ((offset.Value & 0xF) != 0 || IsX2ApicMode)
        {
            return;
        }

        WriteRegister((int)(offset.Value >> 4), (uint)value);
    }

    /// <summary>Power-on state: base FEE00000h, globally enabled, BSP; every register at its reset value (SDM 10.4.7.1).</summary>
    public void Reset()
    {
        _baseMsr = DefaultBaseAddress | ApicBaseGlobalEnable | (_options.IsBootstrapProcessor ? ApicBaseBsp : 0);
        ResetRegisters();
        WindowChanged?.Invoke();
    }

    /// <inheritdoc/>
    public LocalApicState SaveState() => new(
        LocalApicState.CurrentVersion, _baseMsr, _id, _tpr, _ldr, _dfr, _svr, [.. _isr], [.. _tmr], [.. _irr], _esr, _pendingErrors,
        [.. _lvt], _icrLow, _icrHigh, _initialCount, _divideConfig, _timerArmed, _timerEpoch, _tscDeadline, _tscDeadlineNanoseconds, _extIntPending);

    /// <inheritdoc/>
    public void RestoreState(LocalApicState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (state.Version != LocalApicState.CurrentVersion)
        {
            throw new ArgumentException($"LocalApicState.Version {state.Version} is not supported (expected {LocalApicState.CurrentVersion}).", nameof(state));
        }

        CheckLength(state.InService, 8, nameof(state.InService));
        CheckLength(state.TriggerMode, 8, nameof(state.TriggerMode));
        CheckLength(state.Requests, 8, nameof(state.Requests));
        CheckLength(state.LocalVectorTable, LvtCount, nameof(state.LocalVectorTable));
        ulong baseWritable = ApicBaseAddressMask | ApicBaseGlobalEnable | ApicBaseBsp | (X2ApicSupported ? ApicBaseX2Apic : 0);
        if ((state.ApicBaseMsr & ~baseWritable) != 0 ||
            (state.ApicBaseMsr & (ApicBaseX2Apic | ApicBaseGlobalEnable)) == ApicBaseX2Apic)
        {
            throw new ArgumentException($"LocalApicState.ApicBaseMsr {state.ApicBaseMsr:X}h has reserved bits set or x2APIC mode without the enable (or this APIC has no x2APIC).", nameof(state));
        }

        _baseMsr = state.ApicBaseMsr;
        _id = state.Id;
        _tpr = state.TaskPriority;
        _ldr = state.LogicalDestination & LdrMask;
        _dfr = state.DestinationFormat | ~DfrModelMask;
        _svr = state.SpuriousVector & (SvrVectorMask | SvrSoftwareEnable | SvrFocusCheckDisable);
        state.InService.CopyTo(_isr, 0);
        state.TriggerMode.CopyTo(_tmr, 0);
        state.Requests.CopyTo(_irr, 0);
        _esr = state.ErrorStatus;
        _pendingErrors = state.PendingErrors;
        for (int i = 0; i < LvtCount; i++)
        {
            _lvt[i] = state.LocalVectorTable[i] & s_lvtWritable[i];
        }

        _icrLow = state.InterruptCommandLow & IcrWritable;
        _icrHigh = state.InterruptCommandHigh & (IsX2ApicMode ? uint.MaxValue : IcrHighMask);
        _initialCount = state.InitialCount;
        _divideConfig = state.DivideConfiguration & DivideWritable;
        _timerArmed = state.TimerArmed;
        _timerEpoch = state.TimerEpochNanoseconds;
        _tscDeadline = state.TscDeadline;
        _tscDeadlineNanoseconds = state.TscDeadlineNanoseconds;
        _extIntPending = state.ExtIntPending;
        ScheduleTimer();
        WindowChanged?.Invoke();
    }

    /// <summary>The processor priority (SDM 10.8.3.1): the TPR, or the class of the highest in-service vector if that is higher.</summary>
    public byte ProcessorPriority
    {
        get
        {
            int isrv = Highest(_isr);
            int isrClass = isrv < 0 ? 0 : isrv & 0xF0;
            return (_tpr & 0xF0) >= isrClass ? _tpr : (byte)isrClass;
        }
    }

    private bool InTscDeadlineMode => (_lvt[LvtTimer] & LvtTimerModeMask) == LvtTimerTscDeadline;

    /// <summary>The timer's divisor from the divide-configuration register (SDM Figure 10-10): bits 3, 1, 0.</summary>
    private long Divisor
    {
        get
        {
            int code = (int)(((_divideConfig & 8) >> 1) | (_divideConfig & 3));
            return code == 7 ? 1 : 2L << code;
        }
    }

    private long PeriodNanoseconds => _initialCount * Divisor * (1_000_000_000 / TimerClockHertz);

    private static void CheckLength(uint[] array, int length, string name)
    {
        if (array is null || array.Length != length)
        {
            throw new ArgumentException($"LocalApicState.{name} must hold {length} words.", name);
        }
    }

    private static int Highest(uint[] bits)
    {
        for (int word = 7; word >= 0; word--)
        {
            if (bits[word] != 0)
            {
                return (word << 5) + 31 - BitOperations.LeadingZeroCount(bits[word]);
            }
        }

        return -1;
    }

    private static void Set(uint[] bits, int vector) => bits[vector >> 5] |= 1u << (vector & 31);

    private static void Clear(uint[] bits, int vector) => bits[vector >> 5] &= ~(1u << (vector & 31));

    private static bool IsSet(uint[] bits, int vector) => (bits[vector >> 5] & (1u << (vector & 31))) != 0;

    private static string Hex(int value) => value.ToString("X2", CultureInfo.InvariantCulture) + "h";

    private void ResetRegisters()
    {
        _id = _options.ApicId;
        _tpr = 0;
        _ldr = 0;
        _dfr = DfrReset;
        _svr = SvrReset;
        Array.Clear(_isr);
        Array.Clear(_tmr);
        Array.Clear(_irr);
        _esr = 0;
        _pendingErrors = 0;
        for (int i = 0; i < LvtCount; i++)
        {
            _lvt[i] = LvtMasked;
        }

        _icrLow = 0;
        _icrHigh = 0;
        _initialCount = 0;
        _divideConfig = 0;
        _timerArmed = false;
        _timerEpoch = 0;
        _tscDeadline = 0;
        _tscDeadlineNanoseconds = 0;
        _extIntPending = false;
        _timer.Cancel();
    }

    /// <summary>The highest IRR vector whose priority class is above the PPR's (SDM 10.8.3.1), or -1.</summary>
    private int HighestDeliverableVector()
    {
        int irrv = Highest(_irr);
        return irrv >= 0 && (irrv & 0xF0) > (ProcessorPriority & 0xF0) ? irrv : -1;
    }

    /// <summary>Whether a message's destination names this APIC (SDM 10.6.2.1 physical, 10.6.2.2 logical flat and cluster).</summary>
    private bool MatchesDestination(bool logical, byte destination)
    {
        if (destination == BroadcastDestination)
        {
            return true;
        }

        if (IsX2ApicMode)
        {
            // An 8-bit (I/O APIC or MSI) destination reaching an x2APIC: compared as a 32-bit one with the high bits clear.
            return MatchesX2ApicDestination(logical, destination);
        }

        if (!logical)
        {
            return destination == _id;
        }

        byte ldr = (byte)(_ldr >> 24);
        if ((_dfr & DfrModelMask) == DfrFlatModel)
        {
            return (ldr & destination) != 0;
        }

        // Cluster model: bits 7:4 name the cluster, bits 3:0 the members.
        return (ldr >> 4) == (destination >> 4) && (ldr & destination & 0xF) != 0;
    }

    /// <summary>Takes an interrupt this APIC is a destination of: into the IRR, or to the processor's NMI or INTA logic.</summary>
    private void Accept(ApicDeliveryMode mode, byte vector, bool levelTriggered, string source)
    {
        switch (mode)
        {
            case ApicDeliveryMode.Fixed:
            case ApicDeliveryMode.LowestPriority:
                if (vector < FirstLegalVector)
                {
                    // SDM 10.5.3: an illegal vector is not accepted; the error is logged and signalled.
                    SignalError(ErrorReceivedIllegalVector);
                    return;
                }

                Set(_irr, vector);
                if (levelTriggered)
                {
                    Set(_tmr, vector);
                }
                else
                {
                    Clear(_tmr, vector);
                }

                Observer?.OnInterruptEvent(Name, $"{source}: vector {Hex(vector)} {(levelTriggered ? "level" : "edge")} accepted into the IRR");
                break;
            case ApicDeliveryMode.Nmi:
                Observer?.OnInterruptEvent(Name, $"{source}: NMI");
                NmiRequested?.Invoke();
                break;
            case ApicDeliveryMode.ExtInt:
                Observer?.OnInterruptEvent(Name, $"{source}: ExtINT");
                _extIntPending = true;
                break;
            default:
                // INIT, SIPI and SMI: one processor without SMM; see docs/apic.md.
                Misuse($"{mode} delivery ({source}) is not emulated and was dropped", vector);
                Observer?.OnInterruptEvent(Name, $"{source}: {mode} dropped (not emulated)");
                break;
        }
    }

    /// <summary>An LVT entry fires: unless masked, its interrupt goes to this APIC (SDM 10.5.1).</summary>
    private void FireLocal(int entry, string source)
    {
        uint lvt = _lvt[entry];
        if ((lvt & LvtMasked) != 0)
        {
            return;
        }

        // Only LINT0/LINT1 carry a trigger mode; the timer, thermal, performance and error entries are edge.
        var mode = entry is LvtTimer or LvtError ? ApicDeliveryMode.Fixed : (ApicDeliveryMode)((lvt >> LvtDeliveryModeShift) & 7);
        Accept(mode, (byte)(lvt & LvtVectorMask), levelTriggered: false, source);
    }

    private void SignalError(uint bits)
    {
        _pendingErrors |= bits;
        if (!_signallingError)
        {
            // An error LVT entry with an illegal vector signals another error; deliver it once.
            _signallingError = true;
            FireLocal(LvtError, "APIC error");
            _signallingError = false;
        }
    }

    private uint ReadRegister(int register)
    {
        switch (register)
        {
            case RegId:
                return (uint)_id << 24;
            case RegVersion:
                return VersionRegisterValue;
            case RegTpr:
                return _tpr;
            case RegApr:
                return ArbitrationPriority();
            case RegPpr:
                return ProcessorPriority;
            case RegEoi:
            case RegRrd:
                return 0;
            case RegLdr:
                return _ldr;
            case RegDfr:
                return _dfr;
            case RegSvr:
                return _svr;
            case >= RegIsr0 and < RegIsr0 + 8:
                return _isr[register - RegIsr0];
            case >= RegTmr0 and < RegTmr0 + 8:
                return _tmr[register - RegTmr0];
            case >= RegIrr0 and < RegIrr0 + 8:
                return _irr[register - RegIrr0];
            case RegEsr:
                return _esr;
            case RegIcrLow:
                return _icrLow; // delivery status (bit 12) always idle: messages are delivered at once
            case RegIcrHigh:
                return _icrHigh;
            case >= RegLvt0 and < RegLvt0 + LvtCount:
                return _lvt[register - RegLvt0];
            case RegInitialCount:
                return _initialCount;
            case RegCurrentCount:
                return CurrentCount();
            case RegDivide:
                return _divideConfig;
            default:
                SignalError(ErrorIllegalRegisterAddress);
                Misuse("read of a reserved register", (ulong)(register << 4));
                return 0;
        }
    }

    private void WriteRegister(int register, uint value)
    {
        if (Observer is { } observer)
        {
            observer.OnRegisterWrite(Name, RegisterName(register), value);
        }

        switch (register)
        {
            case RegId:
                _id = (byte)(value >> 24);
                break;
            case RegTpr:
                _tpr = (byte)value;
                break;
            case RegEoi:
                EndOfInterrupt();
                break;
            case RegLdr:
                _ldr = value & LdrMask;
                break;
            case RegDfr:
                _dfr = (value & DfrModelMask) | ~DfrModelMask;
                break;
            case RegSvr:
                WriteSpuriousVector(value);
                break;
            case RegEsr:
                // SDM 10.5.3: a write makes the errors detected since the previous write readable and starts anew.
                _esr = _pendingErrors;
                _pendingErrors = 0;
                break;
            case RegIcrLow:
                _icrLow = value & IcrWritable;
                SendInterprocessorInterrupt();
                break;
            case RegIcrHigh:
                _icrHigh = value & IcrHighMask;
                break;
            case >= RegLvt0 and < RegLvt0 + LvtCount:
                WriteLvt(register - RegLvt0, value);
                break;
            case RegInitialCount:
                WriteInitialCount(value);
                break;
            case RegDivide:
                WriteDivideConfiguration(value);
                break;
            case RegVersion:
            case RegApr:
            case RegPpr:
            case RegRrd:
            case >= RegIsr0 and < RegIrr0 + 8:
            case RegCurrentCount:
                break; // read-only: the write is ignored
            default:
                SignalError(ErrorIllegalRegisterAddress);
                Misuse("write of a reserved register", (ulong)(register << 4));
                break;
        }
    }

    private static string RegisterName(int register) => register switch
    {
        RegId => "ID",
        RegTpr => "TPR",
        RegEoi => "EOI",
        RegLdr => "LDR",
        RegDfr => "DFR",
        RegSvr => "SVR",
        RegEsr => "ESR",
        RegIcrLow => "ICR low",
        RegIcrHigh => "ICR high",
        >= RegLvt0 and < RegLvt0 + LvtCount => s_lvtNames[register - RegLvt0],
        RegInitialCount => "timer initial count",
        RegDivide => "timer divide configuration",
        _ => "offset " + (register << 4).ToString("X3", CultureInfo.InvariantCulture) + "h",
    };

    /// <summary>APR (SDM 10.8.3.1, Figure 10-15 for the P6 family and Pentium): the priority used in lowest-priority arbitration.</summary>
    private uint ArbitrationPriority()
    {
        int isrv = Highest(_isr);
        int irrv = Highest(_irr);
        int tprClass = _tpr & 0xF0;
        int isrClass = isrv < 0 ? 0 : isrv & 0xF0;
        int irrClass = irrv < 0 ? 0 : irrv & 0xF0;
        return tprClass >= irrClass && tprClass > isrClass ? _tpr : (uint)Math.Max(tprClass, Math.Max(isrClass, irrClass));
    }

    /// <summary>EOI (SDM 10.8.5): clears the highest ISR bit; for a level-triggered vector the EOI goes to the I/O APIC too.</summary>
    private void EndOfInterrupt()
    {
        int vector = Highest(_isr);
        if (vector < 0)
        {
            return;
        }

        Clear(_isr, vector);
        bool level = IsSet(_tmr, vector);
        Observer?.OnInterruptEvent(Name, $"EOI of vector {Hex(vector)}{(level ? ", broadcast to the I/O APIC" : string.Empty)}");
        if (level)
        {
            EndOfInterruptListener?.OnEndOfInterrupt((byte)vector);
        }
    }

    private void WriteSpuriousVector(uint value)
    {
        // Pentium 4 and later: all eight vector bits are writable (the P6 family hardwired bits 3:0 to 1).
        _svr = value & (SvrVectorMask | SvrSoftwareEnable | SvrFocusCheckDisable);
        if ((_svr & SvrSoftwareEnable) == 0)
        {
            // SDM 10.4.7.2: software-disabling sets every LVT mask bit.
            for (int i = 0; i < LvtCount; i++)
            {
                _lvt[i] |= LvtMasked;
            }
        }
    }

    private void WriteLvt(int entry, uint value)
    {
        uint old = _lvt[entry];
        value &= s_lvtWritable[entry];
        if (entry == LvtTimer && (value & LvtTimerModeMask) == LvtTimerModeMask)
        {
            value &= ~LvtTimerModeMask; // 11b is reserved: treated as one-shot
        }

        if (!IsSoftwareEnabled)
        {
            value |= LvtMasked; // SDM 10.4.7.2: the mask bits cannot be cleared while software-disabled
        }

        _lvt[entry] = value;
        if (entry == LvtTimer && ((old ^ value) & LvtTimerTscDeadline) != 0)
        {
            // SDM 10.5.4.1: switching between TSC-deadline mode and the other modes disarms the timer.
            _timerArmed = false;
            _tscDeadline = 0;
            _timer.Cancel();
        }
    }

    private void WriteInitialCount(uint value)
    {
        if (InTscDeadlineMode)
        {
            return; // SDM 10.5.4.1: writes to the initial-count register are ignored in TSC-deadline mode
        }

        _initialCount = value;
        _timerArmed = value != 0; // a count of 0 stops the timer (SDM 10.5.4)
        _timerEpoch = _clock.NowNanoseconds;
        ScheduleTimer();
    }

    private void WriteDivideConfiguration(uint value)
    {
        value &= DivideWritable;
        if (value == _divideConfig)
        {
            return;
        }

        if (_timerArmed)
        {
            // Keep the count where it is and let it continue at the new rate.
            uint current = CurrentCount();
            _divideConfig = value;
            _timerEpoch = _clock.NowNanoseconds - ((long)(_initialCount - current) * Divisor);
            ScheduleTimer();
        }
        else
        {
            _divideConfig = value;
        }
    }

    private uint CurrentCount()
    {
        if (!_timerArmed || InTscDeadlineMode || _initialCount == 0)
        {
            return 0;
        }

        long ticks = (_clock.NowNanoseconds - _timerEpoch) / Divisor;
        if ((_lvt[LvtTimer] & LvtTimerPeriodic) != 0)
        {
            return (uint)(_initialCount - (ticks % _initialCount));
        }

        return ticks >= _initialCount ? 0 : (uint)(_initialCount - ticks);
    }

    /// <summary>Schedules the clock event of the current timer mode, or cancels it.</summary>
    private void ScheduleTimer()
    {
        if (InTscDeadlineMode)
        {
            if (_tscDeadline != 0 && _tscDeadlineNanoseconds != long.MaxValue)
            {
                _timer.ScheduleAt(_tscDeadlineNanoseconds);
            }
            else
            {
                _timer.Cancel();
            }

            return;
        }

        if (!_timerArmed || _initialCount == 0)
        {
            _timer.Cancel();
            return;
        }

        long period = PeriodNanoseconds;
        long now = _clock.NowNanoseconds;
        long deadline = _timerEpoch + period;
        if ((_lvt[LvtTimer] & LvtTimerPeriodic) != 0 && deadline <= now)
        {
            deadline = _timerEpoch + ((((now - _timerEpoch) / period) + 1) * period);
        }

        _timer.ScheduleAt(deadline);
    }

    private void OnTimer()
    {
        if (InTscDeadlineMode)
        {
            // SDM 10.5.4.1: the interrupt disarms the timer and clears IA32_TSC_DEADLINE.
            _tscDeadline = 0;
            FireLocal(LvtTimer, "timer (TSC deadline)");
            return;
        }

        if (!_timerArmed)
        {
            return;
        }

        if ((_lvt[LvtTimer] & LvtTimerPeriodic) != 0)
        {
            // Periods missed while the clock jumped collapse into one interrupt (the IRR bit holds only one anyway).
            long period = PeriodNanoseconds;
            long elapsedPeriods = (_clock.NowNanoseconds - _timerEpoch) / period;
            _timerEpoch += elapsedPeriods * period;
            ScheduleTimer();
            FireLocal(LvtTimer, "timer (periodic)");
        }
        else
        {
            _timerArmed = false;
            FireLocal(LvtTimer, "timer (one-shot)");
        }
    }

    /// <summary>Writing ICR bits 31:0 sends the IPI (SDM 10.6.1); only this processor exists to receive it.</summary>
    private void SendInterprocessorInterrupt()
    {
        var mode = (ApicDeliveryMode)((_icrLow >> LvtDeliveryModeShift) & 7);
        byte vector = (byte)(_icrLow & LvtVectorMask);
        int shorthand = (int)(_icrLow >> IcrShorthandShift) & 3;
        bool level = (_icrLow & IcrLevelTriggered) != 0;
        if (mode == ApicDeliveryMode.Init && level && (_icrLow & IcrLevelAssert) == 0)
        {
            return; // INIT level de-assert: only resynchronizes arbitration IDs (SDM 10.6.1)
        }

        bool toSelf = shorthand switch
        {
            ShorthandSelf or ShorthandAllIncludingSelf => true,
            ShorthandNone => IsX2ApicMode
                ? MatchesX2ApicDestination((_icrLow & IcrLogicalDestination) != 0, _icrHigh)
                : MatchesDestination((_icrLow & IcrLogicalDestination) != 0, (byte)(_icrHigh >> 24)),
            _ => false, // all excluding self: there is no other processor
        };
        if (mode is ApicDeliveryMode.Fixed or ApicDeliveryMode.LowestPriority && vector < FirstLegalVector)
        {
            SignalError(ErrorSendIllegalVector);
            return;
        }

        Observer?.OnInterruptEvent(Name, $"IPI {mode} vector {Hex(vector)} shorthand {shorthand}{(toSelf ? " to self" : ", no destination")}");
        if (toSelf)
        {
            Accept(mode, vector, levelTriggered: false, "IPI");
        }
    }

    private void Misuse(string what, ulong value)
    {
        GuestMisuseCount++;
        if (GuestMisuseCount <= MaxLoggedMisuses && _logger.IsEnabled(LogLevel.Debug))
        {
            LogMisuse(_logger, what, value);
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "LAPIC: guest misuse: {What} ({Value:X}h).")]
    private static partial void LogMisuse(ILogger logger, string what, ulong value);
}
