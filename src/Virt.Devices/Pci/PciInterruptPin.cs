namespace Virt.Devices;

/// <summary>The interrupt pin a PCI function uses, as the Interrupt Pin register (3Dh) encodes it (PCI Local Bus 3.0, 6.2.4).</summary>
public enum PciInterruptPin
{
    /// <summary>The function uses no INTx pin.</summary>
    None = 0,

    /// <summary>INTA#.</summary>
    IntA = 1,

    /// <summary>INTB#.</summary>
    IntB = 2,

    /// <summary>INTC#.</summary>
    IntC = 3,

    /// <summary>INTD#.</summary>
    IntD = 4,
}
