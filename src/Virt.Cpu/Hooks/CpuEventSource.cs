namespace Virt.Cpu;

/// <summary>Where an interrupt or exception the CPU delivers comes from.</summary>
public enum CpuEventSource
{
    /// <summary>An exception the CPU raised itself (a fault, trap or abort such as #GP, #PF or #DF).</summary>
    Exception,

    /// <summary>An external interrupt: a maskable interrupt from the interrupt controller, or an NMI.</summary>
    Hardware,

    /// <summary>A software interrupt: INT n, INT3 or INTO.</summary>
    Software,
}
