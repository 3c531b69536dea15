namespace Virt.Memory;

/// <summary>A read-only description of one region of a <see cref="PhysicalMemoryMap"/>.</summary>
/// <param name="Name">The region name.</param>
/// <param name="Kind">What backs it.</param>
/// <param name="Range">Where it is now.</param>
/// <param name="Enabled">Whether it is currently mapped.</param>
public sealed record MemoryRegionInfo(string Name, MemoryRegionKind Kind, AddressRange Range, bool Enabled);
