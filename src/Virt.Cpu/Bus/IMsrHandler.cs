namespace Virt.Cpu;

/// <summary>
/// Model-specific registers implemented outside the CPU core, for example by the local APIC of the machine's board
/// (IA32_APIC_BASE, IA32_TSC_DEADLINE). Given through <see cref="CpuOptions.MsrHandler"/>; RDMSR and WRMSR ask it for
/// every MSR the CPU itself does not implement, before raising #GP(0).
/// </summary>
public interface IMsrHandler
{
    /// <summary>Reads an MSR.</summary>
    /// <param name="index">The MSR number (ECX).</param>
    /// <param name="value">The value (EDX:EAX).</param>
    /// <returns>False when the handler does not implement the MSR (RDMSR then raises #GP(0)).</returns>
    bool TryRead(uint index, out ulong value);

    /// <summary>Writes an MSR.</summary>
    /// <param name="index">The MSR number (ECX).</param>
    /// <param name="value">The value (EDX:EAX).</param>
    /// <returns>False when the handler does not implement the MSR or refuses the value (WRMSR then raises #GP(0)).</returns>
    bool TryWrite(uint index, ulong value);
}
