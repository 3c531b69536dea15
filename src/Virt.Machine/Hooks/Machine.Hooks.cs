namespace Virt.Machine;

/// <summary>The machine's side of its hooks (<see cref="MachineHooks"/>): ending a run from a hook.</summary>
public sealed partial class Machine
{
    /// <summary>
    /// Runs <see cref="RunLoop"/> with the hooks told which thread runs the machine, so that hook changes from other
    /// threads are applied by its loop (see MachineHooks.Threading.cs).
    /// </summary>
    private MachineStopReason RunCore(long? maxInstructions, TimeSpan? timeout, TimeSpan? maxGuestTime, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        Hooks.EnterRun();
        try
        {
            return RunLoop(maxInstructions, timeout, maxGuestTime, cancellationToken);
        }
        finally
        {
            Hooks.ExitRun();
        }
    }

    /// <summary>
    /// A hook asked to end the run: <see cref="Run"/> returns <see cref="MachineStopKind.Paused"/> with
    /// <paramref name="description"/> before the next instruction (a stop the guest asked for first stays first).
    /// </summary>
    internal void StopFromHook(string description)
    {
        _pendingStop ??= new MachineStopReason(MachineStopKind.Paused, description);
        Cpu.RequestStop();
    }
}
