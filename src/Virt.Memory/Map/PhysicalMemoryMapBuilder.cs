namespace Virt.Memory;

/// <summary>
/// Builds a <see cref="PhysicalMemoryMap"/>. Every argument is validated when added and the whole
/// layout when <see cref="Build"/> runs: overlapping regions fail there with a message naming both.
/// </summary>
public sealed partial class PhysicalMemoryMapBuilder
{
    private readonly List<MemoryRegionDefinition> _definitions = [];
    private readonly MemoryMapOptions _options;

    /// <summary>Creates a builder.</summary>
    /// <param name="options">Map options; defaults when null.</param>
    public PhysicalMemoryMapBuilder(MemoryMapOptions? options = null)
    {
        _options = options ?? new MemoryMapOptions();
    }

    /// <summary>Adds lazily allocated RAM. Start and size must be multiples of 4 KiB.</summary>
    /// <param name="name">A unique region name used in messages and lookups.</param>
    /// <param name="start">The first physical address.</param>
    /// <param name="sizeInBytes">The size in bytes.</param>
    /// <returns>This builder.</returns>
    public PhysicalMemoryMapBuilder AddRam(string name, PhysicalAddress start, ulong sizeInBytes)
    {
        Add(new MemoryRegionDefinition(name, MemoryRegionKind.Ram, CheckPageRange(name, start, sizeInBytes)));
        return this;
    }

    /// <summary>
    /// Adds ROM holding <paramref name="image"/>. The region is <paramref name="sizeInBytes"/> long
    /// (a multiple of 4 KiB, at least the image length); bytes past the image read as zero.
    /// </summary>
    /// <param name="name">A unique region name.</param>
    /// <param name="start">The first physical address (4 KiB aligned).</param>
    /// <param name="sizeInBytes">The region size.</param>
    /// <param name="image">The ROM contents, copied.</param>
    /// <returns>This builder.</returns>
    public PhysicalMemoryMapBuilder AddRom(string name, PhysicalAddress start, ulong sizeInBytes, ReadOnlySpan<byte> image)
    {
        AddromLike(name, MemoryRegionKind.Rom, start, sizeInBytes, image);
        return this;
    }

    /// <summary>
    /// Adds ROM with shadow RAM behind it (as the PC's C0000h-FFFFFh area). It starts in
    /// <see cref="ShadowMode.ReadRomWriteIgnored"/>; switch with <see cref="PhysicalMemoryMap.SetShadowMode"/>.
    /// </summary>
    /// <param name="name">A unique region name.</param>
    /// <param name="start">The first physical address (4 KiB aligned).</param>
    /// <param name="sizeInBytes">The region size (a multiple of 4 KiB, at least the image length).</param>
    /// <param name="image">The ROM contents, copied.</param>
    /// <returns>This builder.</returns>
    public PhysicalMemoryMapBuilder AddShadowableRom(string name, PhysicalAddress start, ulong sizeInBytes, ReadOnlySpan<byte> image)
    {
        AddromLike(name, MemoryRegionKind.ShadowableRom, start, sizeInBytes, image);
        return this;
    }

    /// <summary>Adds an MMIO window served by <paramref name="device"/>. Any alignment and size (at least one byte).</summary>
    /// <param name="name">A unique region name.</param>
    /// <param name="start">The first physical address.</param>
    /// <param name="sizeInBytes">The window size in bytes.</param>
    /// <param name="device">The device; it sees offsets from <paramref name="start"/>.</param>
    /// <returns>This builder.</returns>
    public PhysicalMemoryMapBuilder AddMmio(string name, PhysicalAddress start, ulong sizeInBytes, IMmioDevice device)
    {
        ArgumentNullException.ThrowIfNull(device);
        if ((device.SupportedWidths & AccessWidths.All) == 0)
        {
            throw new ArgumentException($"MMIO device of region '{name}' declares no supported access width.", nameof(device));
        }

        AddressRange range = CheckRange(name, start, sizeInBytes);
        Add(new MemoryRegionDefinition(name, MemoryRegionKind.Mmio, range) { Device = device });
        return this;
    }

    /// <summary>
    /// Adds an alias: <paramref name="sizeInBytes"/> bytes of region <paramref name="targetName"/>,
    /// from <paramref name="targetOffset"/> on, also visible at <paramref name="start"/>. The target must be
    /// a RAM, ROM or shadowable ROM region added to this builder; writes through either view are seen by both.
    /// </summary>
    /// <param name="name">A unique region name.</param>
    /// <param name="start">The first physical address of the alias (4 KiB aligned).</param>
    /// <param name="sizeInBytes">The alias size (a multiple of 4 KiB).</param>
    /// <param name="targetName">The region whose bytes the alias shows.</param>
    /// <param name="targetOffset">The offset within the target (4 KiB aligned).</param>
    /// <returns>This builder.</returns>
    public PhysicalMemoryMapBuilder AddAlias(string name, PhysicalAddress start, ulong sizeInBytes, string targetName, RegionOffset targetOffset)
    {
        ArgumentException.ThrowIfNullOrEmpty(targetName);
        AddressRange range = CheckPageRange(name, start, sizeInBytes);
        if ((targetOffset.Value & PhysicalMemoryMap.PageOffsetMask) != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(targetOffset), $"Alias '{name}' target offset {targetOffset} in '{targetName}' must be a multiple of 4 KiB.");
        }

        Add(new MemoryRegionDefinition(name, MemoryRegionKind.Alias, range) { AliasTarget = targetName, AliasOffset = targetOffset.Value });
        return this;
    }

    /// <summary>Validates the layout and builds the map.</summary>
    /// <returns>The map.</returns>
    /// <exception cref="InvalidOperationException">When two regions overlap or an alias target is missing or unsuitable.</exception>
    public PhysicalMemoryMap Build()
    {
        // Regions added unmapped (AddUnmappedMmio) take no room until they are enabled at run time.
        var sorted = _definitions.Where(d => d.Enabled).OrderBy(d => d.Range.Start.Value).ToList();
        // Sorted by start, a region overlaps an earlier one exactly when it starts at or below the
        // highest last address seen so far.
        MemoryRegionDefinition? widest = null;
        foreach (MemoryRegionDefinition d in sorted)
        {
            if (widest is not null && widest.Range.Intersects(d.Range))
            {
                throw new InvalidOperationException($"Region '{d.Name}' {d.Range} overlaps region '{widest.Name}' {widest.Range}.");
            }

            if (widest is null || d.Range.LastAddress > widest.Range.LastAddress)
            {
                widest = d;
            }
        }

        foreach (MemoryRegionDefinition d in _definitions.Where(d => d.Kind == MemoryRegionKind.Alias))
        {
            MemoryRegionDefinition? target = _definitions.Find(t => t.Name == d.AliasTarget);
            if (target is null)
            {
                throw new InvalidOperationException($"Alias '{d.Name}' {d.Range} names target region '{d.AliasTarget}', which does not exist.");
            }

            if (target.Kind is MemoryRegionKind.Mmio or MemoryRegionKind.Alias)
            {
                throw new InvalidOperationException($"Alias '{d.Name}' {d.Range} targets '{target.Name}', a {target.Kind} region; only RAM, ROM and shadowable ROM can be aliased.");
            }

            ulong targetSize = target.Range.SizeInBytesMinusOne + 1;
            if (d.AliasOffset > targetSize || d.Range.SizeInBytesMinusOne + 1 > targetSize - d.AliasOffset)
            {
                throw new InvalidOperationException(
                    $"Alias '{d.Name}' {d.Range} shows 0x{d.Range.SizeInBytesMinusOne + 1:X} bytes from offset 0x{d.AliasOffset:X} of '{target.Name}', which is only 0x{targetSize:X} bytes long.");
            }
        }

        return new PhysicalMemoryMap(_definitions, _options);
    }

    private void AddromLike(string name, MemoryRegionKind kind, PhysicalAddress start, ulong sizeInBytes, ReadOnlySpan<byte> image)
    {
        AddressRange range = CheckPageRange(name, start, sizeInBytes);
        if ((ulong)image.Length > sizeInBytes)
        {
            throw new ArgumentOutOfRangeException(nameof(image), $"Image of ROM region '{name}' is {image.Length} bytes, larger than the region's {sizeInBytes} bytes.");
        }

        Add(new MemoryRegionDefinition(name, kind, range) { Image = image.ToArray() });
    }

    private void Add(MemoryRegionDefinition definition)
    {
        if (_definitions.Exists(d => d.Name == definition.Name))
        {
            throw new ArgumentException($"A region named '{definition.Name}' was already added.", nameof(definition));
        }

        _definitions.Add(definition);
    }

    private static AddressRange CheckRange(string name, PhysicalAddress start, ulong sizeInBytes)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (sizeInBytes == 0)
        {
            throw new ArgumentOutOfRangeException(nameof(sizeInBytes), $"Region '{name}' at {start} must not be empty.");
        }

        if (sizeInBytes - 1 > ulong.MaxValue - start.Value)
        {
            throw new ArgumentOutOfRangeException(nameof(sizeInBytes), $"Region '{name}' at {start} of 0x{sizeInBytes:X} bytes runs past the top of the 64-bit address space.");
        }

        return AddressRange.FromStartAndSize(start, sizeInBytes);
    }

    private static AddressRange CheckPageRange(string name, PhysicalAddress start, ulong sizeInBytes)
    {
        AddressRange range = CheckRange(name, start, sizeInBytes);
        if ((start.Value & PhysicalMemoryMap.PageOffsetMask) != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(start), $"Region '{name}' start {start} must be a multiple of 4 KiB.");
        }

        if ((sizeInBytes & PhysicalMemoryMap.PageOffsetMask) != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(sizeInBytes), $"Region '{name}' size 0x{sizeInBytes:X} must be a multiple of 4 KiB.");
        }

        return range;
    }
}
