namespace Virt.Devices;

/// <summary>What a base address register decodes (PCI Local Bus 3.0, 6.2.5.1).</summary>
public enum PciBarKind
{
    /// <summary>A memory window anywhere in the 32-bit space (BAR bits 2:1 = 00).</summary>
    Memory32,

    /// <summary>A memory window anywhere in the 64-bit space (BAR bits 2:1 = 10); it takes two BAR slots.</summary>
    Memory64,

    /// <summary>An I/O port window (BAR bit 0 = 1).</summary>
    Io,

    /// <summary>The expansion ROM (register 30h): a read-only memory window enabled by bit 0 of its register.</summary>
    ExpansionRom,
}
