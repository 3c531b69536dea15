using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Virt.Devices;

/// <summary>
/// The machine's virtual clock and event scheduler. Devices create timers through <see cref="IVirtualClock"/>; the run
/// loop asks how far the CPU may run (<see cref="InstructionsUntilNextEvent"/>), runs it, reports the retired
/// instructions (<see cref="AdvanceByInstructions"/>) and fires what is due (<see cref="RunDueEvents"/>).
/// Timers live in a binary min-heap ordered by deadline, then by creation order, so equal deadlines fire in a
/// deterministic order; checking whether anything is due is O(1). Not thread-safe: it belongs to the machine's thread.
/// See docs/devices-timing.md for the run loop.
/// </summary>
public sealed partial class VirtualClock : IVirtualClock
{
    /// <summary>
    /// The latest guest time the clock reaches or accepts from <see cref="RestoreState"/>: 2^62 ns, about 146 years.
    /// Devices compute deadlines as now plus a period; keeping now at most half the range of a <see cref="long"/> leaves
    /// as much again for those sums, so they cannot overflow into the past. Time stops here; deadlines beyond it are
    /// never reached.
    /// </summary>
    public const long MaxNanoseconds = 1L << 62;

    /// <summary>
    /// The most guest time may lag host time while <see cref="SlewTowardHost"/> catches up gradually: 50 ms. A larger lag (a
    /// host stall, a CPU persistently too slow to catch up) is cut back to it by a step.
    /// </summary>
    public const long MaxSlewLagNanoseconds = 50_000_000;

    /// <summary>
    /// While guest time lags host time, <see cref="SlewTowardHost"/> adds at most this many times the time the retired
    /// instructions took since the previous call: guest time runs at 1 to 4 times its instruction rate, never jumps.
    /// </summary>
    public const long SlewCatchUpFactor = 3;

    private const long NanosecondsPerMicrosecond = 1000;

    /// <summary>A callback that keeps rescheduling itself in the past would never let <see cref="RunDueEvents"/> return.</summary>
    private const int MaxEventsPerBatch = 1_000_000;

    private readonly ILogger _logger;
    private readonly TimeProvider _timeProvider;
    private readonly long _instructionsPerMicrosecond;
    private readonly long _maxLeadNanoseconds;
    private DeviceTimer[] _heap = new DeviceTimer[16];
    private int _count;
    private long _createdTimers;
    private long _now;
    private long _instructionRemainder;
    private long _hostAnchorTimestamp;
    private long _hostAnchorGuestNanoseconds;
    private long _slewMarkNanoseconds;

    /// <summary>Creates a clock at guest time zero.</summary>
    /// <param name="options">The mode and rates; null for deterministic defaults.</param>
    /// <param name="logger">A logger; null for none.</param>
    /// <exception cref="ArgumentOutOfRangeException">When a rate or bound is out of range.</exception>
    public VirtualClock(VirtualClockOptions? options = null, ILogger<VirtualClock>? logger = null)
    {
        options ??= new VirtualClockOptions();
        if (options.InstructionsPerMicrosecond is < 1 or > 1_000_000)
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.InstructionsPerMicrosecond, "VirtualClockOptions.InstructionsPerMicrosecond must be 1 to 1,000,000.");
        }

        if (options.MaxLeadOverHost < TimeSpan.FromMicroseconds(1))
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.MaxLeadOverHost, "VirtualClockOptions.MaxLeadOverHost must be at least 1 µs.");
        }

        Mode = options.Mode;
        _instructionsPerMicrosecond = options.InstructionsPerMicrosecond;
        _maxLeadNanoseconds = options.MaxLeadOverHost.Ticks * 100;
        _timeProvider = options.TimeProvider ?? TimeProvider.System;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        ResynchronizeHost();
    }

    /// <summary>The mode chosen at construction.</summary>
    public VirtualClockMode Mode { get; }

    /// <summary>Retired instructions per microsecond of guest time.</summary>
    public long InstructionsPerMicrosecond => _instructionsPerMicrosecond;

    /// <inheritdoc/>
    public long NowNanoseconds => _now;

    /// <summary>The earliest pending deadline, or <see cref="long.MaxValue"/> when no timer is scheduled. O(1).</summary>
    public long NextDeadlineNanoseconds => _count == 0 ? long.MaxValue : _heap[0].DeadlineNanoseconds;

    /// <summary>Guest nanoseconds until the next deadline: 0 when one is due, <see cref="long.MaxValue"/> when none is scheduled. O(1).</summary>
    public long NanosecondsUntilNextEvent => _count == 0 ? long.MaxValue : Math.Max(0, _heap[0].DeadlineNanoseconds - _now);

    /// <summary>Whether a timer is due (its deadline is not after <see cref="NowNanoseconds"/>). O(1).</summary>
    public bool HasDueEvents => _count != 0 && _heap[0].DeadlineNanoseconds <= _now;

    /// <summary>The number of scheduled timers.</summary>
    public int ScheduledTimerCount => _count;

    /// <summary>The number of timer callbacks run since construction.</summary>
    public long EventsFired { get; private set; }

    /// <inheritdoc/>
    public IDeviceTimer CreateTimer(string name, Action callback)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(callback);
        return new DeviceTimer(this, name, callback, _createdTimers++);
    }

    /// <summary>
    /// How many instructions the CPU may retire before the next deadline (or, in real-time mode, before guest time
    /// reaches its lead limit over the host), at most <paramref name="maxInstructions"/>. Zero means: run
    /// <see cref="RunDueEvents"/> first, or in real-time mode wait <see cref="GetHostWaitTime"/>.
    /// </summary>
    /// <param name="maxInstructions">The largest slice the run loop wants (for example to poll for host input).</param>
    /// <returns>0 to <paramref name="maxInstructions"/>.</returns>
    public long InstructionsUntilNextEvent(long maxInstructions) => InstructionsUntil(NextDeadlineNanoseconds, maxInstructions);

    /// <summary>
    /// How many instructions the CPU may retire before guest time reaches <paramref name="guestNanoseconds"/> (or, in
    /// real-time mode, its lead limit over the host), at most <paramref name="maxInstructions"/>: the smallest count
    /// whose time, with the carried sub-nanosecond remainder, reaches it. Zero when that time has come.
    /// </summary>
    /// <param name="guestNanoseconds">A guest time, for example a run's guest-time limit.</param>
    /// <param name="maxInstructions">The largest slice wanted.</param>
    /// <returns>0 to <paramref name="maxInstructions"/>.</returns>
    public long InstructionsUntil(long guestNanoseconds, long maxInstructions)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxInstructions);
        long limit = guestNanoseconds;
        if (Mode == VirtualClockMode.RealTime)
        {
            limit = Math.Min(limit, SaturatingAdd(HostTargetNanoseconds(), _maxLeadNanoseconds));
        }

        if (limit <= _now)
        {
            return 0;
        }

        long delta = limit - _now;
        if (delta >= long.MaxValue / _instructionsPerMicrosecond / 2)
        {
            return maxInstructions;
        }

        // After i instructions time advances by floor((remainder + i * 1000) / ipus); the smallest i reaching delta:
        long needed = (delta * _instructionsPerMicrosecond) - _instructionRemainder;
        long instructions = (needed + NanosecondsPerMicrosecond - 1) / NanosecondsPerMicrosecond;
        return Math.Clamp(instructions, 1, maxInstructions);
    }

    /// <summary>
    /// Advances guest time by the time <paramref name="retiredInstructions"/> take at the nominal rate (keeping the
    /// sub-nanosecond remainder, so the split into batches does not matter). In real-time mode guest time stops at the
    /// lead limit over the host. Does not run callbacks: call <see cref="RunDueEvents"/>.
    /// </summary>
    /// <param name="retiredInstructions">The instructions retired since the last call (0 or more).</param>
    public void AdvanceByInstructions(long retiredInstructions)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(retiredInstructions);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(retiredInstructions, long.MaxValue / NanosecondsPerMicrosecond / 2);
        long total = _instructionRemainder + (retiredInstructions * NanosecondsPerMicrosecond);
        _instructionRemainder = total % _instructionsPerMicrosecond;
        AdvanceTo(SaturatingAdd(_now, total / _instructionsPerMicrosecond));
    }

    /// <summary>
    /// Moves guest time forward to <paramref name="nanoseconds"/> (never backward, never past <see cref="MaxNanoseconds"/>),
    /// for example to skip the idle time of a halted CPU in deterministic mode. In real-time mode guest time stops at the
    /// lead limit over the host.
    /// Does not run callbacks.
    /// </summary>
    /// <param name="nanoseconds">The target guest time.</param>
    public void AdvanceTo(long nanoseconds)
    {
        nanoseconds = Math.Min(nanoseconds, MaxNanoseconds);
        if (Mode == VirtualClockMode.RealTime)
        {
            nanoseconds = Math.Min(nanoseconds, SaturatingAdd(HostTargetNanoseconds(), _maxLeadNanoseconds));
        }

        if (nanoseconds > _now)
        {
            _now = nanoseconds;
        }
    }

    /// <summary>
    /// Runs every due callback in deadline order (ties in timer creation order). A callback may schedule or cancel any
    /// timer; one scheduled at or before now runs in the same call.
    /// </summary>
    /// <returns>The number of callbacks run.</returns>
    public int RunDueEvents()
    {
        int fired = 0;
        while (_count != 0 && _heap[0].DeadlineNanoseconds <= _now)
        {
            if (fired == MaxEventsPerBatch)
            {
                LogRunawayTimers(_logger, _heap[0].Name, MaxEventsPerBatch);
                break;
            }

            DeviceTimer timer = _heap[0];
            RemoveAt(0);
            fired++;
            EventsFired++;
            timer.Callback();
        }

        return fired;
    }

    /// <summary>
    /// Advances guest time to <paramref name="nanoseconds"/>, stopping at each deadline on the way so that every callback
    /// sees <see cref="NowNanoseconds"/> equal to its deadline (or later if it was already late). For tests and for a
    /// halted CPU in deterministic mode.
    /// </summary>
    /// <param name="nanoseconds">The target guest time.</param>
    /// <returns>The number of callbacks run.</returns>
    public int RunUntil(long nanoseconds)
    {
        int fired = RunDueEvents();
        while (_count != 0 && _heap[0].DeadlineNanoseconds <= nanoseconds)
        {
            long before = _now;
            AdvanceTo(_heap[0].DeadlineNanoseconds);
            if (_now == before && !HasDueEvents)
            {
                return fired; // real-time mode: held at the lead limit
            }

            fired += RunDueEvents();
        }

        AdvanceTo(nanoseconds);
        return fired + RunDueEvents();
    }

    /// <summary>
    /// Real-time mode: brings guest time up to host time when the guest has fallen behind (a slow CPU, an idle wait).
    /// Deterministic mode: does nothing.
    /// </summary>
    public void SynchronizeWithHost()
    {
        if (Mode == VirtualClockMode.RealTime)
        {
            long target = Math.Min(HostTargetNanoseconds(), MaxNanoseconds);
            if (target > _now)
            {
                _now = target;
            }

            _slewMarkNanoseconds = _now;
        }
    }

    /// <summary>
    /// Real-time mode: moves guest time toward host time when the guest has fallen behind, without a step: it adds at
    /// most <see cref="SlewCatchUpFactor"/> times the guest time the instructions retired since the previous call took,
    /// so guest time stays monotonic and locally proportional to the instructions run (a polling loop that reads the PIT
    /// and the TSC sees both move by about what its instructions take, as the Linux TSC calibration requires). Only a lag
    /// beyond <see cref="MaxSlewLagNanoseconds"/> is cut back by a step. For use while the CPU runs (port I/O, RDTSC,
    /// slice starts); after an idle wait use <see cref="SynchronizeWithHost"/>. Deterministic mode: does nothing.
    /// </summary>
    public void SlewTowardHost()
    {
        if (Mode != VirtualClockMode.RealTime)
        {
            return;
        }

        long target = Math.Min(HostTargetNanoseconds(), MaxNanoseconds);
        long lag = target - _now;
        if (lag > 0)
        {
            long progress = Math.Max(0, _now - _slewMarkNanoseconds);
            long catchUp = progress > lag / SlewCatchUpFactor ? lag : progress * SlewCatchUpFactor;
            _now = Math.Max(_now + catchUp, target - MaxSlewLagNanoseconds);
        }

        _slewMarkNanoseconds = _now;
    }

    /// <summary>
    /// Real-time mode: how long the run loop should wait before running the CPU because guest time has reached its lead
    /// limit over host time (then the whole lead, so the host catches up). Zero otherwise and in deterministic mode.
    /// </summary>
    /// <returns>The wait, or <see cref="TimeSpan.Zero"/>.</returns>
    public TimeSpan GetHostWaitTime()
    {
        if (Mode != VirtualClockMode.RealTime)
        {
            return TimeSpan.Zero;
        }

        long ahead = _now - HostTargetNanoseconds();
        return ahead >= _maxLeadNanoseconds ? TimeSpan.FromTicks(ahead / 100) : TimeSpan.Zero;
    }

    /// <summary>
    /// Real-time mode: how long the host must wait until guest time <paramref name="guestNanoseconds"/> is reached, for
    /// example the next deadline while the CPU is halted. Zero in deterministic mode or when that time has passed.
    /// </summary>
    /// <param name="guestNanoseconds">A guest time, such as <see cref="NextDeadlineNanoseconds"/>.</param>
    /// <returns>The wait, <see cref="TimeSpan.Zero"/>, or <see cref="Timeout.InfiniteTimeSpan"/> for <see cref="long.MaxValue"/> (no deadline).</returns>
    public TimeSpan GetHostDelayUntil(long guestNanoseconds)
    {
        if (Mode != VirtualClockMode.RealTime)
        {
            return TimeSpan.Zero;
        }

        if (guestNanoseconds == long.MaxValue)
        {
            return Timeout.InfiniteTimeSpan; // nothing scheduled: wait for host input
        }

        // Both times are non-negative, so the difference cannot overflow; round up to whole ticks without adding first,
        // which could (a deadline near long.MaxValue would wrap to a negative, "already passed" delay).
        long delta = guestNanoseconds - HostTargetNanoseconds();
        return delta > 0 ? TimeSpan.FromTicks((delta / 100) + (delta % 100 != 0 ? 1 : 0)) : TimeSpan.Zero;
    }

    /// <summary>
    /// Real-time mode: re-anchors host time to the current guest time, so time spent paused (or before a restored
    /// snapshot) is not caught up. Called by the constructor and <see cref="RestoreState"/>.
    /// </summary>
    public void ResynchronizeHost()
    {
        _hostAnchorTimestamp = _timeProvider.GetTimestamp();
        _hostAnchorGuestNanoseconds = _now;
        _slewMarkNanoseconds = _now;
    }

    /// <summary>Captures guest time.</summary>
    /// <returns>The state record.</returns>
    public VirtualClockState SaveState() => new(VirtualClockState.CurrentVersion, _now, _instructionRemainder);

    /// <summary>
    /// Restores guest time and cancels every scheduled timer: restore the clock first, then the devices, which reschedule
    /// their own timers from their state.
    /// </summary>
    /// <param name="state">A record from <see cref="SaveState"/>.</param>
    /// <exception cref="ArgumentException">
    /// When the version or a field is invalid (guest time negative or beyond <see cref="MaxNanoseconds"/>, a remainder
    /// outside 0 to <see cref="InstructionsPerMicrosecond"/> - 1); nothing is changed then.
    /// </exception>
    public void RestoreState(VirtualClockState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (state.Version != VirtualClockState.CurrentVersion)
        {
            throw new ArgumentException($"VirtualClockState.Version {state.Version} is not supported (expected {VirtualClockState.CurrentVersion}).", nameof(state));
        }

        if (state.NowNanoseconds is < 0 or > MaxNanoseconds)
        {
            throw new ArgumentException(
                $"VirtualClockState.NowNanoseconds {state.NowNanoseconds} is outside 0 to {MaxNanoseconds} (VirtualClock.MaxNanoseconds, about 146 years): device deadlines computed from it would overflow.",
                nameof(state));
        }

        if (state.InstructionRemainder < 0 || state.InstructionRemainder >= _instructionsPerMicrosecond)
        {
            throw new ArgumentException(
                $"VirtualClockState.InstructionRemainder {state.InstructionRemainder} is outside 0 to {_instructionsPerMicrosecond - 1} (this clock's InstructionsPerMicrosecond - 1): the record comes from a clock with another rate.",
                nameof(state));
        }

        while (_count != 0)
        {
            RemoveAt(_count - 1);
        }

        _now = state.NowNanoseconds;
        _instructionRemainder = state.InstructionRemainder;
        ResynchronizeHost();
    }

    internal void Schedule(DeviceTimer timer, long deadlineNanoseconds)
    {
        if (timer.IsScheduled)
        {
            long old = timer.DeadlineNanoseconds;
            timer.DeadlineNanoseconds = deadlineNanoseconds;
            if (deadlineNanoseconds < old)
            {
                SiftUp(timer.HeapIndex);
            }
            else
            {
                SiftDown(timer.HeapIndex);
            }

            return;
        }

        if (_count == _heap.Length)
        {
            Array.Resize(ref _heap, _heap.Length * 2);
        }

        timer.DeadlineNanoseconds = deadlineNanoseconds;
        _heap[_count] = timer;
        timer.HeapIndex = _count;
        _count++;
        SiftUp(_count - 1);
    }

    internal void Unschedule(DeviceTimer timer)
    {
        if (timer.IsScheduled)
        {
            RemoveAt(timer.HeapIndex);
        }
    }

    private static long SaturatingAdd(long a, long b)
    {
        long sum = a + b;
        return ((a ^ sum) & (b ^ sum)) < 0 ? long.MaxValue : sum;
    }

    private static bool Precedes(DeviceTimer a, DeviceTimer b) =>
        a.DeadlineNanoseconds < b.DeadlineNanoseconds
        || (a.DeadlineNanoseconds == b.DeadlineNanoseconds && a.CreationIndex < b.CreationIndex);

    private long HostTargetNanoseconds()
    {
        TimeSpan elapsed = _timeProvider.GetElapsedTime(_hostAnchorTimestamp);
        return SaturatingAdd(_hostAnchorGuestNanoseconds, elapsed.Ticks * 100);
    }

    private void RemoveAt(int index)
    {
        DeviceTimer removed = _heap[index];
        _count--;
        if (index != _count)
        {
            DeviceTimer last = _heap[_count];
            _heap[index] = last;
            last.HeapIndex = index;
            _heap[_count] = null!;
            SiftUp(index);
            SiftDown(last.HeapIndex);
        }
        else
        {
            _heap[_count] = null!;
        }

        removed.HeapIndex = -1;
        removed.DeadlineNanoseconds = long.MaxValue;
    }

    private void SiftUp(int index)
    {
        DeviceTimer timer = _heap[index];
        while (index > 0)
        {
            int parent = (index - 1) >> 1;
            DeviceTimer parentTimer = _heap[parent];
            if (!Precedes(timer, parentTimer))
            {
                break;
            }

            _heap[index] = parentTimer;
            parentTimer.HeapIndex = index;
            index = parent;
        }

        _heap[index] = timer;
        timer.HeapIndex = index;
    }

    private void SiftDown(int index)
    {
        DeviceTimer timer = _heap[index];
        while (true)
        {
            int child = (index << 1) + 1;
            if (child >= _count)
            {
                break;
            }

            if (child + 1 < _count && Precedes(_heap[child + 1], _heap[child]))
            {
                child++;
            }

            if (!Precedes(_heap[child], timer))
            {
                break;
            }

            _heap[index] = _heap[child];
            _heap[index].HeapIndex = index;
            index = child;
        }

        _heap[index] = timer;
        timer.HeapIndex = index;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Timer '{TimerName}' kept the clock busy: {Count} callbacks in one batch; the rest wait for the next batch.")]
    private static partial void LogRunawayTimers(ILogger logger, string timerName, int count);
}
