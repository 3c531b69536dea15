namespace Virt.Machine;

/// <summary>Why a machine stopped, with detail.</summary>
/// <param name="Kind">The kind of stop.</param>
/// <param name="Detail">A human-readable explanation, for example which device asked for a reset.</param>
/// <param name="ExitCode">For <see cref="MachineStopKind.DebugExit"/>, the exit code; otherwise null.</param>
public sealed record MachineStopReason(MachineStopKind Kind, string Detail, int? ExitCode = null)
{
    /// <summary>The process exit status a QEMU-like front end reports for this stop: 0 for a guest that halted or powered
    /// off for good, the debug-exit code, 124 for a timeout, 1 for anything else.</summary>
    public int ProcessExitStatus => Kind switch
    {
        MachineStopKind.HaltedForGood or MachineStopKind.PoweredOff or MachineStopKind.ResetRequested => 0,
        MachineStopKind.DebugExit => ExitCode ?? 1,
        MachineStopKind.Timeout => 124,
        _ => 1,
    };

    /// <inheritdoc />
    public override string ToString() => ExitCode is { } code ? $"{Kind} ({Detail}, exit code {code})" : $"{Kind} ({Detail})";
}
