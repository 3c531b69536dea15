using System.Diagnostics;

namespace Virt.Fuzz;

/// <summary>
/// Runs a campaign in this process: guests (and device traffic) one after another on a worker thread, watched by the
/// calling thread. The watchdog declares a guest hung when it has not returned from Run within
/// <see cref="FuzzCampaignOptions.HangFactor"/> times its expected time (at least <see cref="FuzzCampaignOptions.MinimumHangTimeout"/>)
/// while the process had processor time (see <see cref="StarvedFactor"/>),
/// asks it to stop, and gives up on the campaign when it does not. Host exceptions, hangs and runs that differ when
/// repeated are findings; each is written as a reproducer when a directory is given. A stack overflow kills the process:
/// run <see cref="ChildProcessCampaign"/> to survive and report those.
/// </summary>
public sealed class FuzzCampaign
{
    /// <summary>
    /// A guest is hung when its wall-clock time is past its timeout and the process had at least half that much processor
    /// time meanwhile (so a host starved by other processes is not taken for a hang), or when the wall-clock time is this
    /// many times its timeout whatever the processor time (a run loop that sleeps while it waits forever).
    /// </summary>
    private const int StarvedFactor = 6;

    private static readonly TimeSpan s_poll = TimeSpan.FromMilliseconds(100);
    private readonly FuzzCampaignOptions _options;
    private readonly FuzzSummary _summary = new();
    private readonly ReproducerWriter? _writer;
    private readonly Action<long, FuzzCase>? _guestStarting;
    private readonly Action<long, FuzzCase, GuestOutcome, bool>? _guestFinished;
    private readonly Action<FuzzFinding>? _findingRecorded;
    private readonly long _firstIndex;
    private readonly FuzzCase? _fixedCase;
    private volatile Slot? _current;
    private double _nanosecondsPerInstruction = 1000; // assume 1 MIPS until measured

    /// <summary>Prepares a campaign.</summary>
    /// <param name="options">What to run.</param>
    /// <param name="firstIndex">The first guest index (a child process resumes a batch after a crash).</param>
    /// <param name="guestStarting">Called on the worker thread before each guest (a child process prints the index).</param>
    /// <param name="fixedCase">Run this case (as every guest) instead of generating them: for reproducers.</param>
    /// <param name="guestFinished">Called on the worker thread after each run (index, case, outcome, first run or the determinism re-run).</param>
    /// <param name="findingRecorded">Called for each finding as it is recorded (a child process prints it at once).</param>
    public FuzzCampaign(
        FuzzCampaignOptions options,
        long firstIndex = 0,
        Action<long, FuzzCase>? guestStarting = null,
        FuzzCase? fixedCase = null,
        Action<long, FuzzCase, GuestOutcome, bool>? guestFinished = null,
        Action<FuzzFinding>? findingRecorded = null)
    {
        _findingRecorded = findingRecorded;
        _guestFinished = guestFinished;
        _fixedCase = fixedCase;
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
        _firstIndex = firstIndex;
        _guestStarting = guestStarting;
        _writer = options.ReproducerDirectory is { } directory ? new ReproducerWriter(directory, options.DisableDecodeCache, options.CompiledTier) : null;
    }

    /// <summary>Guest instructions retired so far (safe from any thread).</summary>
    public long Instructions
    {
        get
        {
            lock (_summary)
            {
                return _summary.Instructions;
            }
        }
    }

    /// <summary>Runs the campaign to its limits and returns the summary.</summary>
    /// <returns>The totals and findings.</returns>
    public FuzzSummary Run()
    {
        var stopwatch = Stopwatch.StartNew();
        var worker = new Thread(Work) { IsBackground = true, Name = "fuzz worker" };
        worker.Start();
        long lastSample = 0;
        while (!worker.Join(s_poll))
        {
            if (stopwatch.ElapsedMilliseconds - lastSample >= 500)
            {
                lastSample = stopwatch.ElapsedMilliseconds;
                SampleMemory();
            }

            if (_current is { } slot && !slot.Done)
            {
                // The guest's time counts from when it was attached (its Run about to start); building it gets the
                // starved allowance.
                long attached = slot.Control.AttachedTimestamp;
                TimeSpan elapsed = attached == 0 ? slot.Clock.Elapsed : Stopwatch.GetElapsedTime(attached);
                TimeSpan processor = attached == 0 ? TimeSpan.Zero : ProcessorTime() - slot.Control.ProcessorTimeAtAttach;
                if (!slot.HangDeclared && elapsed > slot.Timeout && (processor > slot.Timeout / 2 || elapsed > slot.Timeout * StarvedFactor))
                {
                    slot.HangDeclared = true;
                    slot.DeclaredAt = slot.Clock.Elapsed;
                    RecordFinding(new FuzzFinding(FindingKind.Hang, slot.Guest, slot.Device, $"did not return from Run within {slot.Timeout.TotalSeconds:0.0} s (the watchdog asked it to stop); at that moment: {slot.Control.Describe()}"));
                    slot.Control.RequestStop();
                }
                else if (slot.HangDeclared && slot.Clock.Elapsed - slot.DeclaredAt <= _options.StuckGrace)
                {
                    // Again at every poll: Machine.Run forgets a Pause that comes just before it starts.
                    slot.Control.RequestStop();
                }
                else if (slot.HangDeclared)
                {
                    lock (_summary)
                    {
                        _summary.AbortReason = $"{(object?)slot.Guest ?? slot.Device} did not stop within {_options.StuckGrace.TotalSeconds:0} s of the watchdog's request; its thread was abandoned";
                    }

                    break;
                }
            }
        }

        SampleMemory();
        lock (_summary)
        {
            _summary.PeakWorkingSetBytes = Math.Max(_summary.PeakWorkingSetBytes, Process.GetCurrentProcess().PeakWorkingSet64);
            _summary.ElapsedSeconds = stopwatch.Elapsed.TotalSeconds;
            return _summary;
        }
    }

    private void SampleMemory()
    {
        long managed = GC.GetTotalMemory(forceFullCollection: false);
        long workingSet = Environment.WorkingSet;
        lock (_summary)
        {
            _summary.PeakManagedBytes = Math.Max(_summary.PeakManagedBytes, managed);
            _summary.PeakWorkingSetBytes = Math.Max(_summary.PeakWorkingSetBytes, workingSet);
        }
    }

    private void RecordFinding(FuzzFinding finding)
    {
        lock (_summary)
        {
            _summary.AddFinding(finding);
        }

        _writer?.Write(finding);
        _findingRecorded?.Invoke(finding);
    }

    private void Work()
    {
        var started = Stopwatch.StartNew();
        for (long index = _firstIndex; ; index++)
        {
            lock (_summary)
            {
                if ((_options.InstructionTarget > 0 && _summary.Instructions >= _options.InstructionTarget)
                    || (_options.MaxGuests > 0 && _summary.Guests >= _options.MaxGuests)
                    || (_options.InstructionTarget <= 0 && _options.MaxGuests <= 0 && _options.Duration is null)
                    || (_options.Duration is { } duration && started.Elapsed >= duration))
                {
                    break;
                }
            }

            FuzzCase guest = _fixedCase ?? _options.CaseAt(index);
            _guestStarting?.Invoke(index, guest);
            bool check = _options.DeterminismCheckEvery > 0 && index % _options.DeterminismCheckEvery == 0;
            (GuestOutcome first, bool hung) = RunWatched(guest, check);
            lock (_summary)
            {
                _summary.AddRun(guest, first, firstRun: true);
            }

            _guestFinished?.Invoke(index, guest, first, true);

            if (first.HostException is { } exception)
            {
                RecordFinding(new FuzzFinding(FindingKind.HostException, guest, null, Describe(exception)));
                continue;
            }

            if (hung)
            {
                continue;
            }

            if (first.Elapsed > TimeSpan.Zero && first.RetiredInstructions > 1000)
            {
                double sample = first.Elapsed.TotalNanoseconds / first.RetiredInstructions;
                _nanosecondsPerInstruction = (_nanosecondsPerInstruction * 0.9) + (sample * 0.1);
            }

            if (check)
            {
                (GuestOutcome second, bool hungAgain) = RunWatched(guest, fingerprint: true);
                lock (_summary)
                {
                    _summary.AddRun(guest, second, firstRun: false);
                }

                _guestFinished?.Invoke(index, guest, second, false);

                if (second.HostException is { } again)
                {
                    RecordFinding(new FuzzFinding(FindingKind.Nondeterminism, guest, null, $"the first run returned, the second threw: {Describe(again)}"));
                }
                else if (!hungAgain
                    && (second.Fingerprint != first.Fingerprint || second.RetiredInstructions != first.RetiredInstructions || second.Stop != first.Stop))
                {
                    RecordFinding(new FuzzFinding(
                        FindingKind.Nondeterminism,
                        guest,
                        null,
                        $"run 1: {first.Stop}, {first.RetiredInstructions} retired, state {first.Fingerprint:X16}; run 2: {second.Stop}, {second.RetiredInstructions} retired, state {second.Fingerprint:X16}"));
                }
            }
        }

        for (int machine = 0; machine < _options.DeviceMachines; machine++)
        {
            var device = new DeviceFuzzCase(_options.FirstSeed + (ulong)machine, _options.DeviceOperationsPerMachine);
            var slot = new Slot(null, device, Max(_options.MinimumHangTimeout, TimeSpan.FromSeconds(30)));
            _current = slot;
            DeviceFuzzResult result = DeviceFuzzer.Run(device, slot.Control);
            slot.Done = true;
            lock (_summary)
            {
                _summary.DeviceMachines++;
                _summary.DeviceOperations += result.Operations;
            }

            foreach (FuzzFinding finding in result.Findings)
            {
                RecordFinding(finding);
            }
        }

        _current = null;
    }

    private (GuestOutcome Outcome, bool Hung) RunWatched(FuzzCase guest, bool fingerprint)
    {
        TimeSpan expected = TimeSpan.FromTicks((long)(guest.Budget * _nanosecondsPerInstruction * (guest.Level == FuzzLevel.Machine ? 4 : 1) / 100));
        var slot = new Slot(guest, null, Max(_options.MinimumHangTimeout, expected * _options.HangFactor));
        _current = slot;
        GuestOutcome outcome = GuestRunner.Run(guest, slot.Control, fingerprint, _options.DisableDecodeCache, _options.CompiledTier);
        slot.Done = true;
        return (outcome, slot.HangDeclared);
    }

    /// <summary>Exception type, message and the first frames of its stack (innermost exception included).</summary>
    internal static string Describe(Exception exception)
    {
        string stack = string.Join('\n', (exception.StackTrace ?? string.Empty).Split('\n').Take(12).Select(l => l.TrimEnd()));
        string inner = exception.InnerException is { } i ? $"\ninner: {i.GetType().FullName}: {i.Message}" : string.Empty;
        return $"{exception.GetType().FullName}: {exception.Message}{inner}\n{stack}";
    }

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;

    private static TimeSpan ProcessorTime()
    {
        using var process = Process.GetCurrentProcess();
        return process.TotalProcessorTime;
    }

    /// <summary>The guest the worker is running, for the watchdog.</summary>
    private sealed class Slot(FuzzCase? guest, DeviceFuzzCase? device, TimeSpan timeout)
    {
        private volatile bool _done;
        private volatile bool _hangDeclared;

        public FuzzCase? Guest { get; } = guest;

        public DeviceFuzzCase? Device { get; } = device;

        public TimeSpan Timeout { get; } = timeout;

        public Stopwatch Clock { get; } = Stopwatch.StartNew();

        public TimeSpan DeclaredAt { get; set; }

        public GuestControl Control { get; } = new();

        public bool Done
        {
            get => _done;
            set => _done = value;
        }

        public bool HangDeclared
        {
            get => _hangDeclared;
            set => _hangDeclared = value;
        }
    }
}
