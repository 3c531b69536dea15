using Virt.Memory;

namespace Virt.Cpu;

/// <summary>
/// Host hooks on CPUID, RDMSR, WRMSR, RDTSC and hardware interrupt delivery, and the port space the CPU's IN/OUT reach. Each hook is one nullable
/// delegate read only inside its instruction's handler, which is not on a hot path: when it is null the CPU does what it
/// did without hooks, at the cost of one null check. A host that wants several hooks composes them into one (Virt.Machine's
/// <c>MachineHooks</c> does). Set them between runs or from a callback on the thread running the CPU; a change takes
/// effect at the next such instruction.
/// </summary>
public sealed partial class Cpu
{
    /// <summary>Called by CPUID with the computed result, which it may replace (null: none).</summary>
    public CpuidHook? CpuidHook { get; set; }

    /// <summary>Called by RDMSR at CPL 0 with the value read; may replace it or raise #GP(0) (null: none).</summary>
    public MsrReadHook? MsrReadHook { get; set; }

    /// <summary>Called by WRMSR at CPL 0 before the write; may replace the value or suppress the write (null: none).</summary>
    public MsrWriteHook? MsrWriteHook { get; set; }

    /// <summary>Called by RDTSC with the counter read; returns the value the guest sees (null: none).</summary>
    public TscReadHook? TscReadHook { get; set; }

    /// <summary>
    /// Called with the vector of each maskable hardware interrupt the CPU accepted, after the controller's acknowledge
    /// cycle; returning false drops it (null: none). Checked only when an interrupt is taken.
    /// </summary>
    public HardwareInterruptHook? HardwareInterruptHook { get; set; }

    /// <summary>
    /// The port space IN, OUT, INS and OUTS reach (the one given to the constructor unless replaced). A host replaces it
    /// with a dispatcher that forwards to the original, to intercept port I/O without any cost while it is not replaced.
    /// </summary>
    public IoPortSpace PortSpace
    {
        get => _ports;
        set
        {
            ArgumentNullException.ThrowIfNull(value);
            _ports = value;
        }
    }
}
