namespace Virt.Cpu;

/// <summary>
/// Receives every interrupt and exception the CPU is about to deliver, for tracing (QEMU's <c>-d int</c>). Set it with
/// <see cref="Cpu.EventObserver"/>; when it is null (the default) the CPU makes no call and captures nothing. It is
/// called on the delivery path only, never per instruction, and must not change CPU state.
/// </summary>
public interface ICpuEventObserver
{
    /// <summary>
    /// Called before each delivery attempt: the event itself, then, when delivering it faults, the event delivered
    /// instead (the second fault, or the double fault made of both; see <see cref="Cpu.LastShutdown"/> for the whole
    /// chain when it ends in a triple fault).
    /// </summary>
    /// <param name="record">The event and the CPU state it interrupts (CS:EIP is the address the handler would return to).</param>
    void OnInterrupt(in CpuExceptionRecord record);
}
