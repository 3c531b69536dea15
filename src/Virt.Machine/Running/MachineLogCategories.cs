namespace Virt.Machine;

/// <summary>The <see cref="Microsoft.Extensions.Logging.ILogger"/> categories a machine logs under, so a host can filter them.</summary>
public static class MachineLogCategories
{
    /// <summary>The machine itself: resets, triple faults and the exception chain that caused them (Warning), reset loops.</summary>
    public const string Machine = "Virt.Machine";

    /// <summary>The common prefix of the trace categories below; a host enables <c>Trace</c> level for it when it asks for tracing.</summary>
    public const string TracePrefix = "Virt.Machine.Trace";

    /// <summary><see cref="MachineTraceEvents.Interrupts"/>.</summary>
    public const string TraceInterrupts = TracePrefix + ".Interrupts";

    /// <summary><see cref="MachineTraceEvents.PortIo"/>.</summary>
    public const string TracePortIo = TracePrefix + ".PortIo";

    /// <summary><see cref="MachineTraceEvents.Resets"/>.</summary>
    public const string TraceResets = TracePrefix + ".Resets";

    /// <summary><see cref="MachineTraceEvents.Pci"/>.</summary>
    public const string TracePci = TracePrefix + ".Pci";

    /// <summary><see cref="MachineTraceEvents.Apic"/>.</summary>
    public const string TraceApic = TracePrefix + ".Apic";
}
