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

    private readonly Action<Machine> _boot;
    private readonly IReadOnlyList<IDevice> _devices;
    private readonly ILogger _logger;
    private readonly PlatformControl _platform;
    private readonly ResetControlRegister _resetControl;
    private volatile bool _pauseRequested;
    private MachineStopReason? _pendingStop;
    private bool _resetPending;
    private string _resetSource = string.Empty;
    private long _clockRetiredMark;
    private bool _disposed;

    internal Machine(
        PhysicalMemoryMap memory,
        IoPortSpace ports,
        VirtualClock clock,
        Pic8259Pair pic,
        IReadOnlyList<IDevice> devices,
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
        _logger = loggerFactory.CreateLogger(MachineLogCategories.Machine);
        _platform = new PlatformControl(this);
        IoPortSpace cpuPorts = CreateTracer(trace, loggerFactory, ports, out MachineTracer? tracer);
        Cpu = new X86Cpu(memory, cpuPorts, new PicInterruptController(pic), new ClockTimeSource(this), cpuOptions);
        AttachTracer(tracer);
        Cpu.BeforePortAccess = SynchronizeClockWithCpu;
        var fpuError = new FpuErrorLatch(pic.CreateInputLine(13, "x87 FERR#"));
        Cpu.FerrChanged = fpuError.OnFerrChanged;
        ports.Register("x87 error latch", 0xF0, 1, fpuError);
        _resetControl = wire(this, _platform);
        _devices = devices;
        PowerOnReset();
    }

    /// <summary>The CPU (registers, flags, retired-instruction count).</summary>
    public X86Cpu Cpu { get; }

    /// <summary>The guest physical memory map.</summary>
    public PhysicalMemoryMap Memory { get; }

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
    /// configured to stop on reset), shuts down, or a limit is reached.
    /// </summary>
    /// <param name="maxInstructions">Instruction budget for this call, or null for none.</param>
    /// <param name="timeout">Wall-clock limit for this call, or null for none.</param>
    /// <returns>Why it stopped.</returns>
    public MachineStopReason Run(long? maxInstructions = null, TimeSpan? timeout = null) => RunCore(maxInstructions, timeout, CancellationToken.None);

    /// <summary>Runs the guest on a thread-pool thread; see <see cref="Run"/>. Cancellation stops it with <see cref="MachineStopKind.Cancelled"/>.</summary>
    /// <param name="maxInstructions">Instruction budget, or null.</param>
    /// <param name="timeout">Wall-clock limit, or null.</param>
    /// <param name="cancellationToken">Stops the run when cancelled.</param>
    /// <returns>Why it stopped.</returns>
    public Task<MachineStopReason> RunAsync(long? maxInstructions = null, TimeSpan? timeout = null, CancellationToken cancellationToken = default) =>
        Task.Factory.StartNew(
            () => RunCore(maxInstructions, timeout, cancellationToken),
            cancellationToken,
            TaskCreationOptions.LongRunning | TaskCreationOptions.DenyChildAttach,
            TaskScheduler.Default);

    /// <summary>Executes one instruction (or delivers one interrupt), then fires the timer events that became due.</summary>
    /// <returns>Why it stopped: normally <see cref="MachineStopKind.BudgetExhausted"/>.</returns>
    public MachineStopReason Step() => RunCore(1, null, CancellationToken.None);

    /// <summary>Asks a running <see cref="Run"/> to return <see cref="MachineStopKind.Paused"/> soon. Safe from any thread.</summary>
    public void Pause()
    {
        _pauseRequested = true;
        Cpu.RequestStop();
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
        foreach (IDevice device in _devices)
        {
            (device as IDisposable)?.Dispose();
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        foreach (IDevice device in _devices)
        {
            if (device is IAsyncDisposable asyncDisposable)
            {
                await asyncDisposable.DisposeAsync().ConfigureAwait(false);
            }
        }

        Dispose();
    }

    /// <summary>
    /// Brings guest time up to the CPU's current instruction (and, in real-time mode, up to the host's time) and runs the
    /// timer callbacks that became due, in the middle of a slice: before port I/O and RDTSC, so devices and the TSC see
    /// the time of the access. Without it a PIT counter read in a polling loop would repeat the value of the slice start
    /// and then jump, which the Linux TSC calibration against PIT channel 2 rejects.
    /// </summary>
    private void SynchronizeClockWithCpu()
    {
        CatchUpWithRetiredInstructions();
        Clock.SynchronizeWithHost();
        Clock.RunDueEvents();
    }

    /// <summary>Advances guest time by the instructions retired since the clock last moved.</summary>
    private void CatchUpWithRetiredInstructions()
    {
        long retired = Cpu.RetiredInstructions;
        Clock.AdvanceByInstructions(retired - _clockRetiredMark);
        _clockRetiredMark = retired;
    }

    private MachineStopReason RunCore(long? maxInstructions, TimeSpan? timeout, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (maxInstructions is <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(maxInstructions), maxInstructions, "The instruction budget must be positive.");
        }

        long budget = maxInstructions ?? long.MaxValue;
        long used = 0; // counted per slice: a guest reset restarts the CPU's own counter
        var stopwatch = Stopwatch.StartNew();
        _pauseRequested = false;
        Clock.ResynchronizeHost();
        using CancellationTokenRegistration registration = cancellationToken.Register(() => Cpu.RequestStop());
        while (true)
        {
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

            if (timeout is { } limit && stopwatch.Elapsed >= limit)
            {
                return new MachineStopReason(MachineStopKind.Timeout, $"the wall-clock timeout of {limit.TotalSeconds:0.###} s passed");
            }

            if (used >= budget)
            {
                return new MachineStopReason(MachineStopKind.BudgetExhausted, $"{used} instructions retired");
            }

            Clock.SynchronizeWithHost();
            Clock.RunDueEvents();
            long slice = Clock.InstructionsUntilNextEvent(Math.Min(MaxSliceInstructions, budget - used));
            if (slice == 0)
            {
                // Real-time mode with guest time at its lead limit: let the host catch up.
                TimeSpan wait = Clock.GetHostWaitTime();
                if (wait > TimeSpan.Zero)
                {
                    SleepFor(wait, cancellationToken);
                }

                continue;
            }

            long before = Cpu.RetiredInstructions;
            StopReason reason = Cpu.Run(slice);
            used += Cpu.RetiredInstructions - before;
            AdvanceClock();
            switch (reason)
            {
                case StopReason.Halted:
                    if (WaitWhileHalted(cancellationToken) is { } haltStop)
                    {
                        return haltStop;
                    }

                    break;
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

    private void AdvanceClock()
    {
        CatchUpWithRetiredInstructions();
        Clock.RunDueEvents();
    }

    /// <summary>
    /// The CPU executed HLT. With interrupts disabled (and no NMI source) it can never continue: the guest is done.
    /// Otherwise time passes until the next timer event, which may raise the interrupt that wakes it.
    /// </summary>
    private MachineStopReason? WaitWhileHalted(CancellationToken cancellationToken)
    {
        if ((Cpu.Flags & (uint)CpuFlags.Interrupt) == 0)
        {
            return new MachineStopReason(MachineStopKind.HaltedForGood, $"HLT with interrupts disabled at {Cpu.GetSegment(SegmentRegister.Cs).Selector:X4}:{Cpu.Eip:X8}");
        }

        if (Pic.HasPendingInterrupt)
        {
            return null;
        }

        long next = Clock.NextDeadlineNanoseconds;
        if (next == long.MaxValue)
        {
            // Nothing scheduled: only host input (a serial byte, a key) can wake the guest. Poll gently.
            SleepFor(TimeSpan.FromMilliseconds(1), cancellationToken);
            return null;
        }

        if (Clock.Mode == VirtualClockMode.RealTime)
        {
            TimeSpan delay = Clock.GetHostDelayUntil(next);
            if (delay > TimeSpan.Zero)
            {
                SleepFor(delay < TimeSpan.FromMilliseconds(10) ? delay : TimeSpan.FromMilliseconds(10), cancellationToken);
                Clock.SynchronizeWithHost();
                Clock.RunDueEvents();
                return null;
            }
        }

        // Deterministic mode skips the idle time: guest time jumps to the deadline.
        Clock.RunUntil(next);
        return null;
    }

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
        _clockRetiredMark = Cpu.RetiredInstructions;
        _boot(this);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Guest reset ({Source})")]
    private static partial void LogGuestReset(ILogger logger, string source);

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
    }

    private sealed class ClockTimeSource(Machine machine) : ITimeSource
    {
        // The TSC ticks once per guest nanosecond (a 1 GHz TSC), derived from the virtual clock, so it is
        // deterministic in deterministic mode and monotonic across batches.
        public ulong ReadTimestampCounter()
        {
            machine.SynchronizeClockWithCpu();
            return (ulong)machine.Clock.NowNanoseconds;
        }
    }
}
