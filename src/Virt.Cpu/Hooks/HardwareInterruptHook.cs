namespace Virt.Cpu;

/// <summary>
/// Called when the CPU accepted a maskable hardware interrupt, after the interrupt controller's acknowledge cycle and
/// before delivery (<see cref="Cpu.HardwareInterruptHook"/>). Exceptions, software interrupts and NMI do not reach it.
/// </summary>
/// <param name="vector">The vector the controller returned.</param>
/// <returns>True to deliver the interrupt; false to drop it (the CPU goes on as if INTR had not been asserted).</returns>
public delegate bool HardwareInterruptHook(byte vector);
