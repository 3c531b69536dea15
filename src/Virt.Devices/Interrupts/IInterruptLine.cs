namespace Virt.Devices;

/// <summary>
/// The output pin of a device that requests interrupts, injected into the device at construction.
/// A device drives its line's level; whether the receiver (PIC input, I/O APIC pin) treats it as
/// edge- or level-triggered is the receiver's configuration. Several devices may share one input:
/// the input then sees the OR of their levels.
/// </summary>
public interface IInterruptLine
{
    /// <summary>Whether this device currently asserts the line.</summary>
    bool IsAsserted { get; }

    /// <summary>Asserts (true) or deasserts (false) the line.</summary>
    /// <param name="asserted">The new level.</param>
    void SetLevel(bool asserted);

    /// <summary>Asserts then deasserts the line: one rising edge, as an ISA device that signals with a pulse.</summary>
    void Pulse();
}
