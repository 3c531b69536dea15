namespace Virt.Cpu;

/// <summary>
/// Called by the run loop when <see cref="Cpu.RetiredInstructions"/> reaches <see cref="Cpu.InstructionCountDeadline"/>
/// (<see cref="Cpu.InstructionCountHook"/>), before the next instruction executes. It may change any state, set the next
/// deadline, or ask the CPU to stop (<see cref="Cpu.RequestStop"/>).
/// </summary>
public delegate void InstructionCountHook();
