namespace Virt.Memory;

/// <summary>A region of the map at run time (internal): where it is, what backs it, its current view.</summary>
internal sealed class MemoryRegion
{
    public MemoryRegion(MemoryRegionDefinition definition)
    {
        Name = definition.Name;
        Kind = definition.Kind;
        Range = definition.Range;
        Device = definition.Device;
        AliasOffset = definition.AliasOffset;
        Enabled = definition.Enabled;
    }

    public string Name { get; }

    public MemoryRegionKind Kind { get; }

    public AddressRange Range { get; set; }

    public bool Enabled { get; set; }

    /// <summary>RAM of a RAM region, or the shadow RAM of a shadowable ROM.</summary>
    public RamBacking? Ram { get; set; }

    /// <summary>Pinned ROM bytes (the full region size) and their host pointer.</summary>
    public byte[]? Rom { get; set; }

    public nint RomPointer { get; set; }

    public IMmioDevice? Device { get; }

    public MemoryRegion? AliasTarget { get; set; }

    public ulong AliasOffset { get; }

    public ShadowMode ShadowMode { get; set; }

    public MemoryRegionInfo ToInfo() => new(Name, Kind, Range, Enabled);
}
