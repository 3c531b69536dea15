namespace Virt.Cpu;

/// <summary>
/// Receives every interrupt and exception the CPU is about to deliver, for tracing (QEMU's <c>-d int</c>). Set it with
/// <see cref="Cpu.EventObserver"/>; when it is null (the default) the CPU makes no call and captures nothing. It is
/// called on the delivery path only, never per instruction, and must not change CPU state.
/// </summary>
public interface ICpuEventObserver
{
    /// <summary>
    /// Called before the CPU delivers an interrupt or exception, including each nested one (a fault while delivering, a
    /// double fault).
    /// </summary>
    /// <param name="record">The event and the CPU state it interrupts (CS:EIP is the address the handler would return to).</param>
    void OnInterrupt(in CpuExceptionRecord record);
}
