namespace Virt.Memory;

/// <summary>A region as the builder received it (internal).</summary>
internal sealed record MemoryRegionDefinition(string Name, MemoryRegionKind Kind, AddressRange Range)
{
    public byte[]? Image { get; init; }

    public IMmioDevice? Device { get; init; }

    public string? AliasTarget { get; init; }

    public ulong AliasOffset { get; init; }

    /// <summary>Whether the region is mapped when the map is built (false for windows placed later, such as PCI BARs).</summary>
    public bool Enabled { get; init; } = true;
}
