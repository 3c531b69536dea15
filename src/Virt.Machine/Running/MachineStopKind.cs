namespace Virt.Machine;

/// <summary>Why a machine stopped running.</summary>
public enum MachineStopKind
{
    /// <summary>The CPU executed HLT with interrupts disabled: it can never continue (a common "power off" of simple guests).</summary>
    HaltedForGood,

    /// <summary>The guest wrote to the isa-debug-exit port; <see cref="MachineStopReason.ExitCode"/> holds <c>(v &lt;&lt; 1) | 1</c>.</summary>
    DebugExit,

    /// <summary>The guest powered the machine off (for example through a power-management register).</summary>
    PoweredOff,

    /// <summary>
    /// The CPU shut down after a triple fault and the machine is configured to stop rather than reset;
    /// <see cref="MachineStopReason.Crash"/> holds the exception chain.
    /// </summary>
    Shutdown,

    /// <summary>The guest asked for a reset (keyboard controller, port 92h, CF9h, triple fault) and the machine is configured to stop on reset.</summary>
    ResetRequested,

    /// <summary>
    /// The instruction budget given to <c>Run</c> was used up: instructions retired plus the time the CPU spent halted,
    /// charged at the clock's rate (<see cref="Virt.Devices.VirtualClock.InstructionsPerMicrosecond"/>).
    /// </summary>
    BudgetExhausted,

    /// <summary>The wall-clock timeout given to <c>Run</c> passed.</summary>
    Timeout,

    /// <summary>The cancellation token given to <c>RunAsync</c> was cancelled.</summary>
    Cancelled,

    /// <summary>The host called <see cref="Machine.Pause"/>.</summary>
    Paused,

    /// <summary>
    /// The guest triple-faulted again and again at the same place without progress (see
    /// <see cref="ResetBehavior.Reset"/> for the rule), so resetting it once more would only repeat the crash;
    /// <see cref="MachineStopReason.Crash"/> holds the last exception chain. <see cref="ResetBehavior.ResetAlways"/> turns
    /// the detection off.
    /// </summary>
    ResetLoop,

    /// <summary>
    /// Halted with no wake-up source (deterministic mode): the CPU executed HLT with interrupts enabled, but no interrupt
    /// is pending and no timer is scheduled, so nothing can ever wake it. Another <c>Run</c> continues if the host has
    /// since raised a line or an NMI.
    /// </summary>
    HaltedWithNoWakeSource,

    /// <summary>The guest-time limit given to <c>Run</c> passed.</summary>
    GuestTimeLimit,

    /// <summary>The CPU reached a host breakpoint (<see cref="Virt.Cpu.Cpu.AddHostBreakpoint"/>, used by the gdb stub); the instruction there has not run.</summary>
    Breakpoint,
}
