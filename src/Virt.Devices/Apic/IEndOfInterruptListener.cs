namespace Virt.Devices;

/// <summary>
/// Receives the EOI message a local APIC broadcasts when software ends a level-triggered interrupt (Intel SDM Vol. 3A,
/// 10.8.5): an I/O APIC then clears the remote IRR bit of the entries with that vector.
/// </summary>
public interface IEndOfInterruptListener
{
    /// <summary>Handles the broadcast EOI of <paramref name="vector"/>.</summary>
    /// <param name="vector">The vector whose in-service bit was cleared.</param>
    void OnEndOfInterrupt(byte vector);
}
