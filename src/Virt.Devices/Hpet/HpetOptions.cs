namespace Virt.Devices;

/// <summary>Construction options of an <see cref="Hpet"/>.</summary>
public sealed record HpetOptions
{
    /// <summary>
    /// Tn_INT_ROUTE_CAP of every timer: bit n set when the timer can drive I/O APIC pin n. Default pins 20-23, which the
    /// PC board leaves free (0-15 are ISA IRQs, 16-19 the PCI PIRQ links).
    /// </summary>
    public uint InterruptRouteCapability { get; init; } = 0x00F0_0000;
}
