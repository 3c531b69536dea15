using Virt.Memory;

namespace Virt.Devices;

/// <summary>
/// Places PCI windows in the machine's address spaces: memory BARs (and expansion ROMs) in the physical memory map,
/// I/O BARs (and fixed-function blocks such as the PIIX4 power-management registers) in the port space. The board
/// implements it (<see cref="PciWindowMapper"/>); a <see cref="PciDevice"/> asks for changes when the guest writes
/// its BARs or command register. A window that would overlap something else is not mapped: the guest sees nothing
/// there, and the mapper reports why.
/// </summary>
public interface IPciWindowMapper
{
    /// <summary>Maps the memory window named <paramref name="regionName"/> at <paramref name="start"/>, or unmaps it when null.</summary>
    /// <param name="regionName">The region the board created for the window (<see cref="PciBar.RegionName"/>).</param>
    /// <param name="start">The first address, or null to unmap.</param>
    /// <param name="conflict">Why the window could not be mapped, or null.</param>
    /// <returns>True when the window is now where asked (or unmapped).</returns>
    bool TryMapMemory(string regionName, PhysicalAddress? start, out string? conflict);

    /// <summary>Registers <paramref name="device"/> for <paramref name="count"/> ports at <paramref name="firstPort"/>, or only unregisters when null.</summary>
    /// <param name="name">A unique name of the window (one registration per name: mapping again moves it).</param>
    /// <param name="firstPort">The first port, or null to unmap.</param>
    /// <param name="count">The number of ports.</param>
    /// <param name="device">The handler; it sees offsets from the first port.</param>
    /// <param name="conflict">Why the window could not be mapped, or null.</param>
    /// <returns>True when the window is now where asked (or unmapped).</returns>
    bool TryMapPorts(string name, ushort? firstPort, int count, IPortDevice device, out string? conflict);
}
