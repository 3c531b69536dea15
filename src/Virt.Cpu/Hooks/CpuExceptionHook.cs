namespace Virt.Cpu;

/// <summary>
/// Called before the CPU delivers an exception it raised itself or a software interrupt (<see cref="Cpu.ExceptionHook"/>):
/// it may observe the event, redirect it to another vector, or suppress it (see <see cref="CpuExceptionEvent"/>).
/// </summary>
/// <param name="exception">The event; the hook changes it in place.</param>
public delegate void CpuExceptionHook(ref CpuExceptionEvent exception);
