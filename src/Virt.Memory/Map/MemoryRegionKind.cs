namespace Virt.Memory;

/// <summary>What backs a region of the physical memory map.</summary>
public enum MemoryRegionKind
{
    /// <summary>Read-write memory, allocated lazily in chunks of <see cref="PhysicalMemoryMap.RamChunkSizeInBytes"/>.</summary>
    Ram,

    /// <summary>Read-only memory; guest writes are ignored and counted.</summary>
    Rom,

    /// <summary>ROM with RAM behind it, as PC firmware is shadowed; see <see cref="ShadowMode"/>.</summary>
    ShadowableRom,

    /// <summary>A window served by an <see cref="IMmioDevice"/>.</summary>
    Mmio,

    /// <summary>A second view of another RAM, ROM or shadowable region's bytes.</summary>
    Alias,
}
