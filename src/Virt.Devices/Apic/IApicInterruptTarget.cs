namespace Virt.Devices;

/// <summary>
/// A local APIC as the APIC bus (or system bus) sees it: the receiver of interrupt messages from an I/O APIC or an HPET.
/// The target checks the destination itself (Intel SDM Vol. 3A, 10.6.2).
/// </summary>
public interface IApicInterruptTarget
{
    /// <summary>Offers an interrupt message.</summary>
    /// <param name="mode">The delivery mode.</param>
    /// <param name="vector">The vector (ignored for NMI, INIT and ExtINT).</param>
    /// <param name="levelTriggered">Whether the interrupt is level-triggered (the receiver then sets its TMR bit and broadcasts its EOI).</param>
    /// <param name="logicalDestination">Whether <paramref name="destination"/> is a logical (true) or physical (false) destination.</param>
    /// <param name="destination">The destination field: an APIC ID, FFh for every APIC, or a logical set.</param>
    /// <returns>Whether this APIC accepted the message (it was a destination and is enabled).</returns>
    bool DeliverInterrupt(ApicDeliveryMode mode, byte vector, bool levelTriggered, bool logicalDestination, byte destination);
}
