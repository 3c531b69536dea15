using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Virt.Cpu;
using Virt.Devices;
using Virt.Memory;
using X86Cpu = Virt.Cpu.Cpu;

namespace Virt.Machine;

/// <summary>
/// A composed guest machine: CPU, memory, devices and the virtual clock, built by <see cref="MachineBuilder"/>.
/// <see cref="Run"/> interleaves the CPU with the clock's events: it runs the CPU up to the next timer deadline,
/// advances guest time by the instructions retired, fires what is due, and repeats until a stop condition.
/// A machine is single-threaded (run it from one thread at a time); <see cref="Pause"/> may be called from any thread.
/// Machines are independent: many run side by side in one process.
/// </summary>
public sealed partial class Machine : IDisposable, IAsyncDisposable
{
    /// <summary>The largest number of instructions run between checks of the timeout, pause and cancellation (about a millisecond of guest work).</summary>
    private const long MaxSliceInstructions = 200_000;

    /// <summary>
    /// The most halted time charged in one step of the run loop, in instruction times (2^50, about 130 days at the default
    /// rate): <see cref="VirtualClock.AdvanceByInstructions"/> takes at most long.MaxValue / 2000 at once.
    /// </summary>
    private const long MaxIdleChargeInstructions = 1L << 50;

    /// <summary>How often a halted CPU in real-time mode with no timer scheduled looks again (host code may raise a line).</summary>
    private static readonly TimeSpan s_idlePollInterval = TimeSpan.FromMilliseconds(1);

    /// <summary>The longest single host wait of a halted CPU in real-time mode, so the run loop stays responsive.</summary>
    private static readonly TimeSpan s_maxHaltedWait = TimeSpan.FromMilliseconds(10);

    private readonly Action<Machine> _boot;
    private readonly IReadOnlyList<IDevice> _devices;
    private readonly IReadOnlyList<object> _ownedObjects;
    private readonly ILogger _logger;
    private readonly PlatformControl _platform;
    private readonly ResetControlRegister _resetControl;
    private readonly CpuOptions _cpuOptions;
    private readonly IInterruptController _interruptController;
    private readonly ApicBoard? _apic;
    private volatile bool _pauseRequested;
    private MachineStopReason? _pendingStop;
    private bool _resetPending;
    private string _resetSource = string.Empty;
    private long _clockRetiredMark;
    private long _clockRetiredEpoch;

    /// <summary>The deadline the running CPU slice was sized for (meaningful while <see cref="_inSlice"/>).</summary>
    private long _sliceDeadlineNanoseconds;

    /// <summary>Whether a CPU slice is running and no early end has been requested for it yet.</summary>
    private bool _inSlice;
    private RunBudget _runBudget;
    private bool _disposed;

    internal Machine(
        PhysicalMemoryMap memory,
        IoPortSpace ports,
        VirtualClock clock,
        Pic8259Pair pic,
        IReadOnlyList<IDevice> devices,
        IReadOnlyList<object> ownedObjects,
        BoardWiring board,
        ResetBehavior resetBehavior,
        Action<Machine> boot,
        ILoggerFactory loggerFactory,
        CpuOptions cpuOptions,
        MachineTraceEvents trace,
        Func<Machine, IPlatformControl, ResetControlRegister> wire)
    {
        Memory = memory;
        Ports = ports;
        Clock = clock;
        Pic = pic;
        ResetBehavior = resetBehavior;
        _boot = boot;
        _cpuOptions = cpuOptions;
        _logger = loggerFactory.CreateLogger(MachineLogCategories.Machine);
        _platform = new PlatformControl(this);
        IoPortSpace cpuPorts = CreateTracer(trace, loggerFactory, ports, out MachineTracer? tracer);
        _interruptController = board.Apic?.InterruptController ?? new PicInterruptController(pic);
        _apic = board.Apic;
        var fpuError = new FpuErrorLatch(board.Irqs.CreateLine(13, "x87 FERR#"));
        var timeSource = new ClockTimeSource(this);
        var bus = new CpuBus
        {
            Memory = memory,
            Ports = cpuPorts,
            InterruptController = _interruptController,
            TimeSource = timeSource,
            PortAccessClock = timeSource,
            FpuError = fpuError,
        };
        Cpu = new X86Cpu(bus, cpuOptions);
        board.Apic?.Attach(this, SynchronizeClockWithCpu);
        foreach (ClockSynchronizingMmioDevice window in board.TimedWindows)
        {
            window.BeforeAccess = SynchronizeClockWithCpu;
        }

        AttachTracer(tracer);
        Hooks = new MachineHooks(this);
        Clock.EarliestDeadlineMovedEarlier += OnEarliestDeadlineMovedEarlier;
        ports.Register("x87 error latch", 0xF0, 1, fpuError);
        _resetControl = wire(this, _platform);
        _devices = devices;
        _ownedObjects = ownedObjects;
        PowerOnReset();
    }

    /// <summary>The CPU (registers, flags, retired-instruction count).</summary>
    public X86Cpu Cpu { get; }

    /// <summary>The guest physical memory map.</summary>
    public PhysicalMemoryMap Memory { get; }

    /// <summary>Host hooks on port I/O, MMIO, CPUID, MSRs, RDTSC, code addresses, memory watches, blocks, instruction counts, exceptions and triple faults (none by default, at no cost); safe to change from any thread.</summary>
    public MachineHooks Hooks { get; }

    /// <summary>The I/O port space.</summary>
    public IoPortSpace Ports { get; }

    /// <summary>The virtual clock.</summary>
    public VirtualClock Clock { get; }

    /// <summary>The 8259A interrupt controller pair.</summary>
    public Pic8259Pair Pic { get; }

    /// <summary>The devices of the board and the host's custom devices, in creation order.</summary>
    public IReadOnlyList<IDevice> Devices => _devices;

    /// <summary>The first device of type <typeparamref name="T"/> (for example the <see cref="VgaAdapter"/> or a UART), or null.</summary>
    /// <typeparam name="T">The device type.</typeparam>
    /// <returns>The device.</returns>
    public T? FindDevice<T>()
        where T : class => _devices.OfType<T>().FirstOrDefault();

    /// <summary>What a guest reset or a triple fault does.</summary>
    public ResetBehavior ResetBehavior { get; }

    /// <summary>The number of guest-initiated resets performed so far.</summary>
    public int ResetCount { get; private set; }

    /// <summary>The platform control the board's devices use (A20, reset, exit).</summary>
    internal IPlatformControl Platform => _platform;

    /// <summary>
    /// Runs the guest until it stops: it halts for good, writes the debug-exit port, powers off, resets (when
    /// configured to stop on reset), shuts down, halts with nothing left that could wake it (deterministic mode), or a
    /// limit is reached. With any limit given, the call returns within it whatever the guest does.
    /// </summary>
    /// <remarks>
    /// <para>
    /// The instruction budget bounds the guest's time as well as its work: time the CPU spends halted (in HLT, waiting
    /// for an interrupt) is charged against it at the clock's rate, <see cref="VirtualClock.InstructionsPerMicrosecond"/>
    /// instructions per microsecond of guest time (the rate at which deterministic mode turns instructions into time).
    /// So in deterministic mode <c>Run(maxInstructions: n)</c> never moves guest time on by more than
    /// n × 1000 / rate nanoseconds plus 1 µs per access to the ISA-bus ports (the PIT, port 61h and port 80h take an ISA
    /// bus cycle's time), and a guest that sleeps with its only timer's interrupt masked still stops with
    /// <see cref="MachineStopKind.BudgetExhausted"/>. Real-time mode charges the guest time that passed while halted in
    /// the same way.
    /// </para>
    /// <para>
    /// In deterministic mode a CPU halted with interrupts enabled, no interrupt pending and no timer scheduled cannot
    /// be woken (host input reaches the guest only through device timers), so the call returns
    /// <see cref="MachineStopKind.HaltedWithNoWakeSource"/>; a later call continues if the host changed something. In
    /// real-time mode the machine waits instead (host code may raise a line), and that wait counts against
    /// <paramref name="timeout"/>.
    /// </para>
    /// </remarks>
    /// <param name="maxInstructions">Instruction budget for this call (retired instructions plus halted time at the clock's rate), or null for none.</param>
    /// <param name="timeout">Wall-clock limit for this call, or null for none.</param>
    /// <param name="maxGuestTime">Guest-time limit for this call (stops with <see cref="MachineStopKind.GuestTimeLimit"/>), or null for none.</param>
    /// <returns>Why it stopped.</returns>
    /// <exception cref="ArgumentOutOfRangeException">When <paramref name="maxInstructions"/> or <paramref name="maxGuestTime"/> is not positive.</exception>
    public MachineStopReason Run(long? maxInstructions = null, TimeSpan? timeout = null, TimeSpan? maxGuestTime = null) =>
        RunCore(maxInstructions, timeout, maxGuestTime, CancellationToken.None);

    /// <summary>Runs the guest on a thread-pool thread; see <see cref="Run"/>. Cancellation stops it with <see cref="MachineStopKind.Cancelled"/>.</summary>
    /// <param name="maxInstructions">Instruction budget, or null.</param>
    /// <param name="timeout">Wall-clock limit, or null.</param>
    /// <param name="cancellationToken">Stops the run when cancelled.</param>
    /// <returns>Why it stopped.</returns>
    public Task<MachineStopReason> RunAsync(long? maxInstructions = null, TimeSpan? timeout = null, CancellationToken cancellationToken = default) =>
        RunAsync(maxInstructions, timeout, null, cancellationToken);

    /// <summary>Runs the guest on a thread-pool thread with a guest-time limit as well; see <see cref="Run"/>.</summary>
    /// <param name="maxInstructions">Instruction budget, or null.</param>
    /// <param name="timeout">Wall-clock limit, or null.</param>
    /// <param name="maxGuestTime">Guest-time limit, or null.</param>
    /// <param name="cancellationToken">Stops the run when cancelled.</param>
    /// <returns>Why it stopped.</returns>
    public Task<MachineStopReason> RunAsync(long? maxInstructions, TimeSpan? timeout, TimeSpan? maxGuestTime, CancellationToken cancellationToken) =>
        Task.Factory.StartNew(
            () => RunCore(maxInstructions, timeout, maxGuestTime, cancellationToken),
            // Not the caller's token: a token cancelled before the task starts would cancel the task itself (a
            // TaskCanceledException) instead of returning MachineStopKind.Cancelled as documented.
            CancellationToken.None,
            TaskCreationOptions.LongRunning | TaskCreationOptions.DenyChildAttach,
            TaskScheduler.Default);

    /// <summary>
    /// Executes one instruction (or delivers one interrupt), then fires the timer events that became due. A halted CPU
    /// instead waits one instruction time (the budget of one is charged for it).
    /// </summary>
    /// <returns>Why it stopped: normally <see cref="MachineStopKind.BudgetExhausted"/>.</returns>
    public MachineStopReason Step() => RunCore(1, null, null, CancellationToken.None);

    /// <summary>Asks a running <see cref="Run"/> to return <see cref="MachineStopKind.Paused"/> after the instruction executing now. Safe from any thread.</summary>
    public void Pause()
    {
        _pauseRequested = true;
        Cpu.RequestStopAfterInstruction();
    }

    /// <summary>Resets the machine as at power-on (CPU, devices, clock-driven state) and boots again; memory keeps its contents except what the boot loader rewrites.</summary>
    public void Reset()
    {
        _resetLoop.Clear();
        PowerOnReset();
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        CompleteSerialCaptures();
        foreach (IDevice device in _devices)
        {
            (device as IDisposable)?.Dispose();
        }

        // The host's port and MMIO devices, created by its factories at build time, belong to the machine too.
        foreach (object owned in _ownedObjects)
        {
            (owned as IDisposable)?.Dispose();
        }

        // RAM shared with forks is left to them, so the last holder of a chunk writes it without copying.
        Memory.ReleaseRam();
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        foreach (object owned in _devices.Concat(_ownedObjects))
        {
            if (owned is IAsyncDisposable asyncDisposable)
            {
                await asyncDisposable.DisposeAsync().ConfigureAwait(false);
            }
        }

        Dispose();
    }

    /// <summary>
    /// Brings guest time up to the CPU's current instruction and runs the timer callbacks that became due, in the middle
    /// of a slice: before port I/O and RDTSC, so devices and the TSC see the time of the access. Without it a PIT counter
    /// read in a polling loop would repeat the value of the slice start and then jump, which the Linux TSC calibration
    /// against PIT channel 2 rejects.
    /// </summary>
    /// <remarks>
    /// The host clock is not consulted here, in either mode: within a slice guest time is a function of the retired
    /// instructions alone (at the rate <see cref="VirtualClock.SlewTowardHost"/> chose for the slice), so the PIT and the
    /// TSC, both read from it, advance in the fixed ratio of their rates between any two accesses and never show a host
    /// stall as a jump. Real-time mode follows the host only through that rate and through idle waits.
    /// </remarks>
    private void SynchronizeClockWithCpu()
    {
        CatchUpWithRetiredInstructions();
        Clock.RunDueEvents();
        if (_inSlice && Clock.NowNanoseconds >= _sliceDeadlineNanoseconds)
        {
            // Time charged for I/O (ISA bus cycles) reached the slice's deadline before its instructions ran out: end the
            // slice here so the run loop sizes the next one from the new time.
            _inSlice = false;
            Cpu.RequestStop();
        }
    }

    /// <summary>
    /// A device scheduled an event before every other deadline. Inside a CPU slice sized for a later deadline (the guest
    /// programmed a timer with a port write), end the slice after the current instruction, so the run loop reaches the
    /// new deadline on time instead of up to a whole slice late, which would merge the periods of a periodic PIT in
    /// between into one interrupt.
    /// </summary>
    private void OnEarliestDeadlineMovedEarlier()
    {
        if (_inSlice && Clock.NextDeadlineNanoseconds < _sliceDeadlineNanoseconds)
        {
            _inSlice = false;
            Cpu.RequestStop();
        }
    }

    /// <summary>
    /// Advances guest time by the instructions retired since the clock last moved. When the CPU's count was set rather
    /// than counted (a restored <see cref="CpuState"/>, possibly earlier, or a reset), the difference spans two
    /// timelines and means nothing: take a new mark instead, and let guest time carry on from where the clock is.
    /// </summary>
    private void CatchUpWithRetiredInstructions()
    {
        long retired = Cpu.RetiredInstructions;
        if (Cpu.RetiredInstructionsEpoch != _clockRetiredEpoch || retired < _clockRetiredMark)
        {
            MarkRetiredInstructions();
            return;
        }

        Clock.AdvanceByInstructions(retired - _clockRetiredMark);
        _clockRetiredMark = retired;
    }

    /// <summary>Makes the CPU's current retired-instruction count the point from which the clock catches up.</summary>
    private void MarkRetiredInstructions()
    {
        _clockRetiredMark = Cpu.RetiredInstructions;
        _clockRetiredEpoch = Cpu.RetiredInstructionsEpoch;
    }

    private MachineStopReason RunLoop(long? maxInstructions, TimeSpan? timeout, TimeSpan? maxGuestTime, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (maxInstructions is <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(maxInstructions), maxInstructions, "The instruction budget must be positive.");
        }

        if (maxGuestTime is { } guestTime && guestTime <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(maxGuestTime), maxGuestTime, "The guest-time limit must be positive.");
        }

        // A field, so that a harness can read what the run used after it returns (LastRunInstructionsSpent).
        ref RunBudget budget = ref _runBudget;
        budget = new RunBudget(maxInstructions ?? long.MaxValue);
        var stopwatch = Stopwatch.StartNew();
        _pauseRequested = false;
        Clock.ResynchronizeHost();

        // Instructions the host ran on the CPU directly are caught up; a CPU state restored since the last run gives a
        // new mark here, before the first slice, so that slice's instructions count.
        CatchUpWithRetiredInstructions();
        long guestLimit = maxGuestTime is { } g ? GuestTimeLimit(Clock.NowNanoseconds, g) : long.MaxValue;
        using CancellationTokenRegistration registration = cancellationToken.Register(() => Cpu.RequestStop());
        while (true)
        {
            // Hook changes from other threads are applied here, between two CPU slices (Hooks/MachineHooks.Threading.cs).
            if (Hooks.ChangesPending)
            {
                Hooks.ApplyPendingChanges();
            }

            // First: the match is what the waiting harness asked for; a guest stop requested in the same step stays pending
            // (HandleRequests) and ends the next run.
            if (TakeSerialMatchStop() is { } serialMatch)
            {
                return serialMatch;
            }

            if (HandleRequests() is { } requested)
            {
                return requested;
            }

            if (cancellationToken.IsCancellationRequested)
            {
                return new MachineStopReason(MachineStopKind.Cancelled, "the cancellation token was cancelled");
            }

            if (_pauseRequested)
            {
                _pauseRequested = false;
                return new MachineStopReason(MachineStopKind.Paused, "Pause() was called");
            }

            TimeSpan timeLeft = timeout is { } limit ? limit - stopwatch.Elapsed : TimeSpan.MaxValue;
            if (timeLeft <= TimeSpan.Zero)
            {
                return new MachineStopReason(MachineStopKind.Timeout, $"the wall-clock timeout of {timeout!.Value.TotalSeconds:0.###} s passed");
            }

            if (budget.Remaining <= 0)
            {
                return new MachineStopReason(MachineStopKind.BudgetExhausted, budget.Describe());
            }

            // Real time: the rate at which this slice's instructions advance guest time (faster while it lags the host);
            // guest time itself does not jump.
            Clock.SlewTowardHost();
            Clock.RunDueEvents();
            if (Clock.NowNanoseconds >= guestLimit)
            {
                return new MachineStopReason(MachineStopKind.GuestTimeLimit, $"the guest-time limit of {maxGuestTime!.Value.TotalSeconds:0.######} s passed");
            }

            long sliceMax = Math.Min(MaxSliceInstructions, budget.Remaining);
            long slice = Clock.InstructionsUntilNextEvent(sliceMax);
            if (guestLimit != long.MaxValue)
            {
                slice = Math.Min(slice, Clock.InstructionsUntil(guestLimit, sliceMax));
            }

            if (slice == 0)
            {
                // Real-time mode with guest time at its lead limit: let the host catch up.
                TimeSpan wait = Clock.GetHostWaitTime();
                if (wait > TimeSpan.Zero)
                {
                    SleepFor(wait < timeLeft ? wait : timeLeft, cancellationToken);
                }

                continue;
            }

            long before = Cpu.RetiredInstructions;
            long epoch = Cpu.RetiredInstructionsEpoch;
            _sliceDeadlineNanoseconds = Math.Min(Clock.NextDeadlineNanoseconds, guestLimit);
            _inSlice = true;
            StopReason reason = Cpu.Run(slice);
            _inSlice = false;

            // A hook that restored an earlier CPU state mid-slice leaves no meaningful difference: count nothing then.
            budget.Retired += Cpu.RetiredInstructionsEpoch == epoch ? Cpu.RetiredInstructions - before : 0;
            AdvanceClock();
            switch (reason)
            {
                case StopReason.Halted:
                    if (WaitWhileHalted(ref budget, guestLimit, timeLeft, cancellationToken) is { } haltStop)
                    {
                        return haltStop;
                    }

                    break;
                case StopReason.Breakpoint:
                    if (Hooks.RunCodeHooks(out bool hookStop))
                    {
                        // Only code hooks there: the CPU steps over the breakpoint once on the next Run, so the run goes on.
                        break;
                    }

                    if (hookStop)
                    {
                        return new MachineStopReason(MachineStopKind.Paused, $"a code hook at {Cpu.GetSegment(SegmentRegister.Cs).Selector:X4}:{Cpu.Eip:X8} asked to stop");
                    }

                    return new MachineStopReason(MachineStopKind.Breakpoint, $"host breakpoint at {Cpu.GetSegment(SegmentRegister.Cs).Selector:X4}:{Cpu.Eip:X8}");
                case StopReason.Watchpoint:
                    return new MachineStopReason(MachineStopKind.Paused, $"a memory watch asked to stop after the instruction before {Cpu.GetSegment(SegmentRegister.Cs).Selector:X4}:{Cpu.Eip:X8}");
                case StopReason.Shutdown:
                    if (OnCpuShutdown() is { } crash)
                    {
                        return crash;
                    }

                    break;
                default:
                    break;
            }
        }
    }

    /// <summary>The instruction budget the last run used: instructions retired plus halted time at the clock's rate.</summary>
    internal long LastRunInstructionsSpent => _runBudget.Retired + _runBudget.Idle;

    private void AdvanceClock()
    {
        CatchUpWithRetiredInstructions();
        Clock.RunDueEvents();
    }

    /// <summary>
    /// The CPU executed HLT. With interrupts disabled (and no NMI source) it can never continue: the guest is done.
    /// Otherwise guest time passes until the next timer event, which may raise the interrupt that wakes it. That time is
    /// charged against the instruction budget at the clock's rate and never runs past the guest-time limit, so a guest
    /// whose timer interrupt is masked (time jumping from deadline to deadline, nothing ever waking it) still stops.
    /// </summary>
    private MachineStopReason? WaitWhileHalted(ref RunBudget budget, long guestLimit, TimeSpan timeLeft, CancellationToken cancellationToken)
    {
        if ((Cpu.Flags & (uint)CpuFlags.Interrupt) == 0)
        {
            return new MachineStopReason(MachineStopKind.HaltedForGood, $"HLT with interrupts disabled at {Cpu.GetSegment(SegmentRegister.Cs).Selector:X4}:{Cpu.Eip:X8}");
        }

        if (_interruptController.IsInterruptPending)
        {
            return null;
        }

        // A deadline past the end of guest time is never reached: it cannot wake the CPU either.
        long next = Clock.NextDeadlineNanoseconds;
        bool timerScheduled = next <= VirtualClock.MaxNanoseconds;
        long target = Math.Min(next, guestLimit);
        if (Clock.Mode == VirtualClockMode.Deterministic)
        {
            if (!timerScheduled)
            {
                // Host input reaches a guest only through device timers (the UART and 8042 poll their backends), so with
                // none scheduled nothing can ever raise an interrupt: waiting would last for ever.
                return new MachineStopReason(
                    MachineStopKind.HaltedWithNoWakeSource,
                    $"HLT with interrupts enabled at {Cpu.GetSegment(SegmentRegister.Cs).Selector:X4}:{Cpu.Eip:X8}, no interrupt pending and no timer scheduled");
            }

            // Skip the idle time: guest time jumps to the deadline (or the guest-time limit), which costs the instructions
            // that would have taken as long; when the budget ends first, time stops where the budget ends.
            long needed = Clock.InstructionsUntil(target, long.MaxValue);
            if (needed == 0)
            {
                return null; // due already (a runaway batch left it): the loop runs it
            }

            // long.MaxValue: too far to count (the clock's answer for deltas near overflow); approach it in steps.
            if (needed != long.MaxValue && needed <= budget.Remaining)
            {
                budget.Idle += needed;
                Clock.RunUntil(target);
                return null;
            }

            long charge = Math.Min(budget.Remaining, MaxIdleChargeInstructions);
            budget.Idle += charge;
            Clock.AdvanceByInstructions(charge);
            Clock.RunDueEvents();
            return null;
        }

        // Real time: wait on the host (never past the timeout, the budget's end or the guest-time limit), then charge the
        // guest time that passed, at least one instruction time so that a budget always runs out. With no timer
        // scheduled, poll: host code may raise a line meanwhile.
        if (budget.Remaining == 0)
        {
            return null; // the HLT itself used the last of the budget: the loop reports it
        }

        long start = Clock.NowNanoseconds;
        TimeSpan delay = target == long.MaxValue ? s_maxHaltedWait : Clock.GetHostDelayUntil(target);
        if (!timerScheduled)
        {
            delay = Min(delay, s_idlePollInterval);
        }

        delay = Min(Min(delay, s_maxHaltedWait), Min(timeLeft, HostTimeOf(budget.Remaining)));
        if (delay > TimeSpan.Zero)
        {
            // Not past the deadline, even if the host woke late: each timer period (each PIT interrupt) is delivered on
            // its own, and the guest catches up with the rest deadline by deadline without waiting.
            SleepFor(delay, cancellationToken);
            Clock.SynchronizeWithHost(target);
        }
        else if (target <= VirtualClock.MaxNanoseconds)
        {
            // The deadline has passed in host time (guest time was held back): catch up to it.
            Clock.RunUntil(target);
        }

        Clock.RunDueEvents();
        budget.Idle += Math.Clamp(InstructionTimesIn(Clock.NowNanoseconds - start), 1, budget.Remaining);
        return null;
    }

    /// <summary>The guest time <paramref name="instructions"/> take at the clock's rate, rounded up to a whole tick.</summary>
    private TimeSpan HostTimeOf(long instructions)
    {
        const long nanosecondsPerMicrosecond = 1000;
        const long nanosecondsPerTick = 100;
        long rate = Clock.InstructionsPerMicrosecond;
        if (instructions >= long.MaxValue / nanosecondsPerMicrosecond)
        {
            return TimeSpan.MaxValue;
        }

        long nanoseconds = ((instructions * nanosecondsPerMicrosecond) + rate - 1) / rate;
        return TimeSpan.FromTicks((nanoseconds + nanosecondsPerTick - 1) / nanosecondsPerTick);
    }

    /// <summary>The guest time limit of a run that starts at <paramref name="now"/>, saturating at <see cref="long.MaxValue"/>.</summary>
    private static long GuestTimeLimit(long now, TimeSpan maxGuestTime)
    {
        const long nanosecondsPerTick = 100;
        long nanoseconds = maxGuestTime.Ticks > long.MaxValue / nanosecondsPerTick ? long.MaxValue : maxGuestTime.Ticks * nanosecondsPerTick;
        return nanoseconds > long.MaxValue - now ? long.MaxValue : now + nanoseconds;
    }

    /// <summary>How many instruction times (at the clock's rate, rounded up) <paramref name="nanoseconds"/> of guest time make.</summary>
    private long InstructionTimesIn(long nanoseconds)
    {
        const long nanosecondsPerMicrosecond = 1000;
        long rate = Clock.InstructionsPerMicrosecond;
        if (nanoseconds <= 0)
        {
            return 0;
        }

        return nanoseconds >= long.MaxValue / rate ? long.MaxValue : ((nanoseconds * rate) + nanosecondsPerMicrosecond - 1) / nanosecondsPerMicrosecond;
    }

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;

    private static void SleepFor(TimeSpan wait, CancellationToken cancellationToken)
    {
        if (wait > TimeSpan.FromMilliseconds(50))
        {
            wait = TimeSpan.FromMilliseconds(50);
        }

        cancellationToken.WaitHandle.WaitOne(wait);
    }

    private MachineStopReason? HandleRequests()
    {
        if (_pendingStop is { } stop)
        {
            _pendingStop = null;
            return stop;
        }

        if (_resetPending)
        {
            _resetPending = false;
            if (ResetBehavior == ResetBehavior.Stop)
            {
                return new MachineStopReason(MachineStopKind.ResetRequested, _resetSource);
            }

            LogGuestReset(_logger, _resetSource);
            _resetLoop.Clear(); // only triple faults in a row make a reset loop
            GuestReset(_resetSource);
        }

        return null;
    }

    private void GuestReset(string source)
    {
        ResetCount++;
        _resetSource = source;
        _tracer?.OnReset(source, ResetCount, Cpu);
        PowerOnReset();
    }

    private void PowerOnReset()
    {
        foreach (IDevice device in _devices)
        {
            device.Reset();
        }

        _resetControl.Reset();
        Memory.A20Enabled = true;
        Cpu.Reset();
        MarkRetiredInstructions();
        _boot(this);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Guest reset ({Source})")]
    private static partial void LogGuestReset(ILogger logger, string source);

    /// <summary>
    /// What a run has used of its instruction budget: instructions retired (counted per slice, since a guest reset
    /// restarts the CPU's own counter) and halted guest time in instruction times.
    /// </summary>
    private struct RunBudget(long limit)
    {
        public long Retired;
        public long Idle;

        public readonly long Remaining => Retired + Idle >= limit ? 0 : limit - Retired - Idle;

        public readonly string Describe() => Idle == 0
            ? $"{Retired} instructions retired"
            : $"{Retired} instructions retired and {Idle} instruction times spent halted";
    }

    private sealed class PlatformControl(Machine machine) : IPlatformControl
    {
        public bool A20Enabled => machine.Memory.A20Enabled;

        public void SetA20(bool enabled) => machine.Memory.A20Enabled = enabled;

        public void RequestReset(string source)
        {
            machine._resetPending = true;
            machine._resetSource = source;
            machine.Cpu.RequestStop();
        }

        public void RequestExit(int exitCode, string source)
        {
            machine._pendingStop ??= new MachineStopReason(MachineStopKind.DebugExit, source, exitCode);
            machine.Cpu.RequestStop();
        }

        public void RequestPowerOff(string source)
        {
            machine._pendingStop ??= new MachineStopReason(MachineStopKind.PoweredOff, source);
            machine.Cpu.RequestStop();
        }
    }

    private sealed class ClockTimeSource(Machine machine) : ITimeSource, IPortAccessClock
    {
        // Devices reached through a port see the clock brought up to the accessing instruction.
        public void BeforePortAccess() => machine.SynchronizeClockWithCpu();

        // The TSC ticks once per guest nanosecond (a 1 GHz TSC), derived from the virtual clock, so it is
        // deterministic in deterministic mode and monotonic across batches.
        public ulong ReadTimestampCounter()
        {
            machine.SynchronizeClockWithCpu();
            return (ulong)machine.Clock.NowNanoseconds;
        }
    }
}
