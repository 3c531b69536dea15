namespace Virt.Devices;

/// <summary>
/// Connects a PCI function's INTx# pin to the board's interrupt wiring. On the PC board the PIIX3 does this: the pin
/// goes to one of the PIRQ links by the slot swizzle, and the link to an ISA IRQ (and the I/O APIC).
/// </summary>
public interface IPciInterruptRouter
{
    /// <summary>Creates the line a function drives for its pin; several functions may share the wire behind it.</summary>
    /// <param name="address">The function.</param>
    /// <param name="pin">Its pin (not <see cref="PciInterruptPin.None"/>).</param>
    /// <param name="owner">The function's name, for logs.</param>
    /// <returns>The line.</returns>
    IInterruptLine CreateIntxLine(PciFunctionAddress address, PciInterruptPin pin, string owner);
}
