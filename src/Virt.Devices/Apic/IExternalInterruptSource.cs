namespace Virt.Devices;

/// <summary>
/// An 8259A-compatible interrupt controller as a local APIC sees it through LINT0 or an ExtINT message: its INTR output
/// and the INTA cycle that fetches the vector from it (Intel SDM Vol. 3A, 10.5.1, "ExtINT").
/// </summary>
public interface IExternalInterruptSource
{
    /// <summary>Whether the controller's INTR output is asserted.</summary>
    bool IsInterruptRequested { get; }

    /// <summary>Runs the INTA cycle: the controller marks the request in service and returns its vector.</summary>
    /// <returns>The vector.</returns>
    byte AcknowledgeInterrupt();
}
