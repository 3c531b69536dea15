using Virt.Memory;

namespace Virt.Devices;

/// <summary>
/// One base address register of a <see cref="PciDevice"/> (or its expansion ROM) as the device defined it: kind, size
/// and handler. The board reads these to create the device's memory regions; the guest places the window by writing
/// the register, and <see cref="MappedAddress"/> tells where it currently is.
/// </summary>
public sealed class PciBar
{
    internal PciBar(int index, PciBarKind kind, ulong sizeInBytes, bool prefetchable, IMmioDevice? mmio, IPortDevice? ports, string regionName)
    {
        Index = index;
        Kind = kind;
        SizeInBytes = sizeInBytes;
        IsPrefetchable = prefetchable;
        MmioHandler = mmio;
        PortHandler = ports;
        RegionName = regionName;
    }

    /// <summary>The BAR number (0-5), or 6 for the expansion ROM.</summary>
    public int Index { get; }

    /// <summary>What the BAR decodes.</summary>
    public PciBarKind Kind { get; }

    /// <summary>The window size in bytes (or ports): a power of two.</summary>
    public ulong SizeInBytes { get; }

    /// <summary>Whether the memory window is prefetchable (BAR bit 3).</summary>
    public bool IsPrefetchable { get; }

    /// <summary>Whether the window is in memory space (memory BARs and the expansion ROM).</summary>
    public bool IsMemory => Kind != PciBarKind.Io;

    /// <summary>The handler of a memory window (for the ROM, the device's ROM image), or null for an I/O BAR.</summary>
    public IMmioDevice? MmioHandler { get; }

    /// <summary>The handler of an I/O window, or null for a memory BAR.</summary>
    public IPortDevice? PortHandler { get; }

    /// <summary>The name of the window's region in the memory map or registration in the port space, for example <c>"pci 00:02.0 BAR0"</c>.</summary>
    public string RegionName { get; }

    /// <summary>Where the window is mapped now, or null while it is not decoded (decoding off, address 0, or a conflict).</summary>
    public ulong? MappedAddress { get; internal set; }

    /// <summary>The register offset of this BAR in configuration space.</summary>
    public int RegisterOffset => Kind == PciBarKind.ExpansionRom ? PciConfigurationRegisters.ExpansionRomBase : PciConfigurationRegisters.Bar0 + (4 * Index);
}
