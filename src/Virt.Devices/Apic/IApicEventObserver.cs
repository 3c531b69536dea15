namespace Virt.Devices;

/// <summary>
/// Watches the APIC devices (local APIC, I/O APIC) for tracing: register writes and interrupt messages. A device with
/// no observer pays nothing; the strings are only formatted when one is set.
/// </summary>
public interface IApicEventObserver
{
    /// <summary>A guest wrote a register.</summary>
    /// <param name="device">The device's name, for example <c>"LAPIC"</c>.</param>
    /// <param name="register">The register's name, for example <c>"ICR low"</c> or <c>"redirection 2 low"</c>.</param>
    /// <param name="value">The value written.</param>
    void OnRegisterWrite(string device, string register, ulong value);

    /// <summary>An interrupt was sent, accepted, delivered to the CPU or ended.</summary>
    /// <param name="device">The device's name.</param>
    /// <param name="description">What happened, for example <c>"pin 2 -> fixed vector 30h, accepted"</c>.</param>
    void OnInterruptEvent(string device, string description);
}
