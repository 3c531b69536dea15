namespace Virt.Machine;

/// <summary>
/// What a machine traces (QEMU's <c>-d</c> items), logged at <see cref="Microsoft.Extensions.Logging.LogLevel.Trace"/>
/// under the categories of <see cref="MachineLogCategories"/>. Tracing that is off costs nothing: the machine installs
/// no observer and no port wrapper for it.
/// </summary>
[Flags]
public enum MachineTraceEvents
{
    /// <summary>Nothing (the default).</summary>
    None = 0,

    /// <summary>Every interrupt and exception delivered: vector, error code, CS:EIP, mode, hardware or software (QEMU's <c>int</c>).</summary>
    Interrupts = 1,

    /// <summary>Every port access the CPU makes: direction, port, width and value.</summary>
    PortIo = 2,

    /// <summary>Every reset of the guest: its source, the reset count and where the CPU was (QEMU's <c>cpu_reset</c>).</summary>
    Resets = 4,

    /// <summary>Every PCI configuration access through CF8h/CFCh: function, register, width, value (QEMU's <c>pci</c> trace events).</summary>
    Pci = 8,

    /// <summary>
    /// Local APIC and I/O APIC activity (a board with <see cref="MachineBuilder.WithApic"/>): register writes, interrupt
    /// messages, acceptance, delivery to the CPU and EOIs.
    /// </summary>
    Apic = 16,

    /// <summary>All of the above.</summary>
    All = Interrupts | PortIo | Resets | Pci | Apic,
}
