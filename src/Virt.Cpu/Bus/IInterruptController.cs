namespace Virt.Cpu;

/// <summary>
/// The CPU's view of an external interrupt controller (for example two 8259 PICs or an APIC, adapted by the machine).
/// The CPU asks it at instruction boundaries whether INTR is asserted and, when it accepts the interrupt, for the vector.
/// </summary>
public interface IInterruptController
{
    /// <summary>Whether a maskable interrupt request is asserted (the INTR line).</summary>
    bool IsInterruptPending { get; }

    /// <summary>Acknowledges the pending interrupt (the INTA cycle) and returns its vector.</summary>
    /// <returns>The interrupt vector, 0-255.</returns>
    byte Acknowledge();
}
