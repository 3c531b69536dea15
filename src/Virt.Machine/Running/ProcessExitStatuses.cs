namespace Virt.Machine;

/// <summary>
/// The exit statuses a QEMU-like front end (Virt.Run) reports for a run, one per outcome, so a script can tell them
/// apart; <see cref="MachineStopReason.ProcessExitStatus"/> maps a stop onto them. All but the isa-debug-exit ones are
/// even, so no value a guest writes to isa-debug-exit (always odd) can be mistaken for them.
/// </summary>
public static class ProcessExitStatuses
{
    /// <summary>The guest finished: it halted for good, powered off, or asked for a reset while the machine stops on reset (QEMU exits 0 there too).</summary>
    public const int Success = 0;

    /// <summary>The command line or an input file was bad (unknown option, malformed value, unreadable or corrupt file).</summary>
    public const int BadInput = 2;

    /// <summary>The run stopped for a reason this list does not name (a stop kind added later and not yet mapped).</summary>
    public const int OtherStop = 6;

    /// <summary>The guest crashed: a triple fault shut the CPU down while the machine stops on reset, or a reset loop was detected.</summary>
    public const int GuestCrashed = 4;

    /// <summary>A limit was reached: the wall-clock timeout or the instruction budget (as GNU <c>timeout</c> exits).</summary>
    public const int LimitReached = 124;

    /// <summary>The host interrupted the run (Ctrl+C, cancellation, <see cref="Machine.Pause"/>): 128 plus SIGINT, as shells report it.</summary>
    public const int Interrupted = 130;

    /// <summary>The status for an isa-debug-exit write of <paramref name="value"/>: <c>(value &lt;&lt; 1) | 1</c>, always odd, as QEMU exits.</summary>
    /// <param name="value">The value the guest wrote.</param>
    /// <returns>The exit status.</returns>
    public static int ForDebugExit(int value) => (value << 1) | 1;
}
