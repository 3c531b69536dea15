namespace Virt.Machine;

/// <summary>
/// How additions and removals reach the thread running the machine: each is an action applied there, between two
/// instructions, or at once when no run is in progress or the caller is that thread.
/// </summary>
public sealed partial class MachineHooks
{
    private readonly object _gate = new();
    private readonly Queue<PendingChange> _pendingChanges = new();
    private volatile bool _changesPending;
    private int _runThreadId;
    private int _runDepth;

    /// <summary>Whether a change from another thread waits for the run loop (read once per time slice).</summary>
    internal bool ChangesPending => _changesPending;

    /// <summary>
    /// Applies <paramref name="change"/> to the hook state: at once on the thread running the machine or while none runs;
    /// from another thread during a run, by asking the CPU to stop after its current instruction and waiting until the run
    /// loop applied it (or the run ended).
    /// </summary>
    private void Apply(Action change)
    {
        lock (_gate)
        {
            if (_runThreadId == 0 || _runThreadId == Environment.CurrentManagedThreadId)
            {
                // Earlier changes from other threads first, so they keep their order.
                ApplyPendingLocked();
                change();
                return;
            }

            var pending = new PendingChange(change);
            _pendingChanges.Enqueue(pending);
            _changesPending = true;
            _machine.Cpu.RequestStopAfterInstruction();
            while (!pending.Done)
            {
                if (_runThreadId == 0)
                {
                    // The run ended before its loop got to it: nothing runs now, apply it here.
                    ApplyPendingLocked();
                    break;
                }

                Monitor.Wait(_gate);
            }

            if (pending.Error is { } error)
            {
                // What the change threw on the machine's thread (an invalid range, say) is the caller's error.
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(error).Throw();
            }
        }
    }

    /// <summary>Called by the run loop (between CPU slices) when <see cref="ChangesPending"/>: applies what other threads asked for.</summary>
    internal void ApplyPendingChanges()
    {
        lock (_gate)
        {
            ApplyPendingLocked();
        }
    }

    /// <summary>A run starts on this thread: changes from other threads are applied by its loop from now on.</summary>
    internal void EnterRun()
    {
        lock (_gate)
        {
            _runThreadId = Environment.CurrentManagedThreadId;
            _runDepth++;
            ApplyPendingLocked();
        }
    }

    /// <summary>The run started by <see cref="EnterRun"/> ended.</summary>
    internal void ExitRun()
    {
        lock (_gate)
        {
            ApplyPendingLocked();
            if (--_runDepth == 0)
            {
                _runThreadId = 0;
            }

            Monitor.PulseAll(_gate);
        }
    }

    private void ApplyPendingLocked()
    {
        while (_pendingChanges.TryDequeue(out PendingChange? pending))
        {
            try
            {
                pending.Change();
            }
            catch (Exception error)
            {
                // Handed to the thread that asked for the change (it rethrows it); the run goes on.
                pending.Error = error;
            }

            pending.Done = true;
        }

        _changesPending = false;
        Monitor.PulseAll(_gate);
    }

    /// <summary>A change another thread waits for.</summary>
    private sealed class PendingChange(Action change)
    {
        public Action Change { get; } = change;

        public bool Done { get; set; }

        public Exception? Error { get; set; }
    }
}
