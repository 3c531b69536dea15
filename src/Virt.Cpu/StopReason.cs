namespace Virt.Cpu;

/// <summary>Why <see cref="Cpu.Run"/> or <see cref="Cpu.Step"/> returned.</summary>
public enum StopReason
{
    /// <summary>The instruction budget was used up; the CPU can simply be run again.</summary>
    BudgetExhausted,

    /// <summary>The CPU executed HLT and no interrupt is pending that could wake it.</summary>
    Halted,

    /// <summary>The host called <see cref="Cpu.RequestStop"/>.</summary>
    StopRequested,

    /// <summary>A triple fault (or a fault while delivering a double fault) shut the CPU down; only <see cref="Cpu.Reset"/> leaves this state.</summary>
    Shutdown,

    /// <summary>A host breakpoint (<see cref="Cpu.AddHostBreakpoint"/>) is at the next instruction, which has not run.</summary>
    Breakpoint,

    /// <summary>
    /// A host memory watch's handler (<see cref="Cpu.HostWatchHandler"/>) asked to stop after the instruction that touched the
    /// watched range completed.
    /// </summary>
    Watchpoint,
}
