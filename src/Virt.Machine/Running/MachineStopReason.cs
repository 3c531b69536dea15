using Virt.Cpu;

namespace Virt.Machine;

/// <summary>Why a machine stopped, with detail.</summary>
/// <param name="Kind">The kind of stop.</param>
/// <param name="Detail">A human-readable explanation, for example which device asked for a reset.</param>
/// <param name="ExitCode">For <see cref="MachineStopKind.DebugExit"/>, the exit code; otherwise null.</param>
public sealed record MachineStopReason(MachineStopKind Kind, string Detail, int? ExitCode = null)
{
    /// <summary>
    /// For <see cref="MachineStopKind.Shutdown"/> and <see cref="MachineStopKind.ResetLoop"/>, the chain of exceptions
    /// that ended in the (last) triple fault: vectors, error codes, CS:EIP, mode and control registers; otherwise null.
    /// </summary>
    public CpuShutdownReport? Crash { get; init; }

    /// <summary>
    /// The process exit status a QEMU-like front end reports for this stop (see <see cref="ProcessExitStatuses"/>):
    /// <list type="bullet">
    /// <item><description>0: the guest halted for good (also halted with no wake-up source), powered off, or asked for a reset while the machine stops on reset;</description></item>
    /// <item><description><c>(v &lt;&lt; 1) | 1</c>: the guest wrote v to isa-debug-exit (<see cref="ExitCode"/>);</description></item>
    /// <item><description>4: the guest crashed (triple fault with stop on reset, or a reset loop);</description></item>
    /// <item><description>124: the timeout, the instruction budget or the guest-time limit was reached;</description></item>
    /// <item><description>130: the host cancelled or paused the run, or stopped it at a host breakpoint; 6: any other stop.</description></item>
    /// </list>
    /// (2 is the front end's own, for bad options and unreadable files.)
    /// </summary>
    public int ProcessExitStatus => Kind switch
    {
        MachineStopKind.HaltedForGood or MachineStopKind.HaltedWithNoWakeSource or MachineStopKind.PoweredOff or MachineStopKind.ResetRequested => ProcessExitStatuses.Success,
        MachineStopKind.DebugExit => ExitCode ?? ProcessExitStatuses.ForDebugExit(0),
        MachineStopKind.Shutdown or MachineStopKind.ResetLoop => ProcessExitStatuses.GuestCrashed,
        MachineStopKind.Timeout or MachineStopKind.BudgetExhausted or MachineStopKind.GuestTimeLimit => ProcessExitStatuses.LimitReached,
        MachineStopKind.Cancelled or MachineStopKind.Paused or MachineStopKind.Breakpoint => ProcessExitStatuses.Interrupted,
        _ => ProcessExitStatuses.OtherStop,
    };

    /// <inheritdoc />
    public override string ToString() => ExitCode is { } code ? $"{Kind} ({Detail}, exit code {code})" : $"{Kind} ({Detail})";
}
