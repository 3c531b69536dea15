using Virt.Memory;

namespace Virt.Cpu;

/// <summary>
/// Everything a <see cref="Cpu"/> is connected to, given once at construction: guest physical memory, the port space, the
/// interrupt controller, the time-stamp counter source, the clock hook called before port accesses and the FERR# output.
/// The interfaces are the CPU's own (it consumes them; Virt.Machine adapts its devices to them), so the CPU never sees a
/// device or the machine, and nothing is patched into it after construction.
/// </summary>
public sealed class CpuBus
{
    /// <summary>The guest physical address space.</summary>
    public required PhysicalMemoryMap Memory { get; init; }

    /// <summary>The I/O port space IN, OUT, INS and OUTS reach (a host may later interpose a dispatcher through <see cref="Cpu.PortSpace"/>).</summary>
    public required IoPortSpace Ports { get; init; }

    /// <summary>The source of maskable interrupts, or null for none.</summary>
    public IInterruptController? InterruptController { get; init; }

    /// <summary>The time-stamp counter source for RDTSC, or null to count retired instructions.</summary>
    public ITimeSource? TimeSource { get; init; }

    /// <summary>Called before each port access, or null.</summary>
    public IPortAccessClock? PortAccessClock { get; init; }

    /// <summary>The FERR# output, or null when nothing listens.</summary>
    public IFpuErrorOutput? FpuError { get; init; }
}
