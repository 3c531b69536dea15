namespace Virt.Machine.Acpi.Aml;

/// <summary>The address space of an operation region (ACPI 6.5, 19.6.100 OperationRegion).</summary>
public enum AmlRegionSpace : byte
{
    /// <summary>Physical memory.</summary>
    SystemMemory = 0,

    /// <summary>I/O ports.</summary>
    SystemIO = 1,

    /// <summary>The PCI configuration space of the device the region is declared in (its _ADR and the bus's _BBN).</summary>
    PciConfig = 2,
}
