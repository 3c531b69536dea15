namespace Virt.Memory;

/// <summary>Windows that exist in the map but are placed at run time (PCI BARs).</summary>
public sealed partial class PhysicalMemoryMapBuilder
{
    /// <summary>
    /// Adds an MMIO window that starts unmapped: it takes no address space (and so overlaps nothing) until it is placed
    /// with <see cref="PhysicalMemoryMap.MoveRegion"/> and mapped with <see cref="PhysicalMemoryMap.SetRegionEnabled"/>,
    /// as a PCI device's BAR is placed by the guest.
    /// </summary>
    /// <param name="name">A unique region name.</param>
    /// <param name="sizeInBytes">The window size in bytes (at least one).</param>
    /// <param name="device">The device; it sees offsets from wherever the window is placed.</param>
    /// <returns>This builder.</returns>
    public PhysicalMemoryMapBuilder AddUnmappedMmio(string name, ulong sizeInBytes, IMmioDevice device)
    {
        ArgumentNullException.ThrowIfNull(device);
        if ((device.SupportedWidths & AccessWidths.All) == 0)
        {
            throw new ArgumentException($"MMIO device of region '{name}' declares no supported access width.", nameof(device));
        }

        AddressRange range = CheckRange(name, default, sizeInBytes);
        Add(new MemoryRegionDefinition(name, MemoryRegionKind.Mmio, range) { Device = device, Enabled = false });
        return this;
    }
}
