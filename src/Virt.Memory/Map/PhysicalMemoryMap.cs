using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Virt.Memory;

/// <summary>
/// The guest physical address space: RAM, ROM, MMIO windows and aliases, built by a
/// <see cref="PhysicalMemoryMapBuilder"/> and then used by the CPU and devices.
/// </summary>
/// <remarks>
/// <para>
/// Fast path: a two-level page table (a directory of 16,384 tables of 1,024 entries, covering the
/// first 64 GiB) caches, per 4 KiB page, a host pointer for reads and one for writes. An aligned access that
/// stays inside its page costs two array loads and a pointer dereference. The table is only a cache,
/// filled on first use from the region list, so its cost grows with the memory a guest touches.
/// </para>
/// <para>
/// A page's write pointer is handed out only after the page was marked dirty and only while no decoded
/// code lives on it; every other write takes the slow path, which sets the dirty bit, tells
/// <see cref="IPhysicalMemoryObserver"/>s about writes to code pages, counts ignored ROM writes and
/// dispatches MMIO. So dirty tracking and code invalidation cost nothing on pages that need neither.
/// </para>
/// <para>
/// A map's RAM may share chunks with forked maps (<see cref="ShareRamInto"/>): such a chunk gets no write pointer, so the
/// first write on either side copies it (copy-on-write) and neither map sees the other's writes.
/// </para>
/// <para>Not thread-safe: a map belongs to one machine, which runs on one thread (maps that share RAM may run on different threads).</para>
/// </remarks>
public sealed unsafe partial class PhysicalMemoryMap : IGuestMemory
{
    /// <summary>Log2 of the page size.</summary>
    public const int PageShift = 12;

    /// <summary>The page size in bytes (4 KiB).</summary>
    public const int PageSizeInBytes = 1 << PageShift;

    /// <summary>Mask of the offset within a page.</summary>
    public const ulong PageOffsetMask = PageSizeInBytes - 1;

    /// <summary>
    /// RAM is allocated on first write in chunks of this many bytes (64 KiB): small enough that a
    /// 4 GiB guest touching 10 MiB costs about 10 MiB, large enough that the chunk index stays small
    /// (64 Ki entries for 4 GiB).
    /// </summary>
    public const int RamChunkSizeInBytes = 64 * 1024;

    private const int TableShift = 10;
    private const int TableEntries = 1 << TableShift;
    private const int DirectoryEntries = 1 << 14;
    private const ulong A20Bit = 1UL << 20;

    private readonly PageEntry[]?[] _directory = new PageEntry[DirectoryEntries][];
    private readonly List<MemoryRegion> _regions;
    private readonly List<IPhysicalMemoryObserver> _observers = [];
    private readonly byte[] _zeroPage = GC.AllocateArray<byte>(PageSizeInBytes, pinned: true);
    private readonly nint _zeroPagePointer;
    private readonly bool _strict;
    private MemoryRegion[] _sorted = [];
    private IMmioAccessInterceptor? _mmioInterceptor;
    private ulong _a20Mask;

    internal PhysicalMemoryMap(IReadOnlyList<MemoryRegionDefinition> definitions, MemoryMapOptions options)
    {
        _strict = options.Strict;
        _a20Mask = options.A20Enabled ? ulong.MaxValue : ~A20Bit;
        _zeroPagePointer = RamBacking.AddressOf(_zeroPage);
        _regions = [.. definitions.Select(d => new MemoryRegion(d))];
        for (int i = 0; i < definitions.Count; i++)
        {
            MemoryRegionDefinition d = definitions[i];
            MemoryRegion r = _regions[i];
            ulong size = d.Range.SizeInBytesMinusOne + 1;
            if (d.Kind is MemoryRegionKind.Ram or MemoryRegionKind.ShadowableRom)
            {
                r.Ram = new RamBacking(size);
                r.Ram.Mappers.Add(r);
            }

            if (d.Kind is MemoryRegionKind.Rom or MemoryRegionKind.ShadowableRom)
            {
                byte[] rom = GC.AllocateArray<byte>(checked((int)size), pinned: true);
                d.Image.AsSpan().CopyTo(rom);
                r.Rom = rom;
                r.RomPointer = RamBacking.AddressOf(rom);
            }
        }

        for (int i = 0; i < definitions.Count; i++)
        {
            if (definitions[i].Kind == MemoryRegionKind.Alias)
            {
                MemoryRegion target = _regions.First(t => t.Name == definitions[i].AliasTarget);
                _regions[i].AliasTarget = target;
                target.Ram?.Mappers.Add(_regions[i]);
            }
        }

        RebuildSorted();
    }

    /// <summary>Counters of accesses that did not reach RAM as asked.</summary>
    public MemoryAccessStatistics Statistics { get; } = new();

    /// <summary>
    /// The A20 gate. When disabled, bit 20 of every physical address is forced to zero, so addresses
    /// from 1 MiB wrap around to 0 as on an 8086. Changing it invalidates every CPU translation.
    /// </summary>
    public bool A20Enabled
    {
        get => _a20Mask == ulong.MaxValue;
        set
        {
            ulong mask = value ? ulong.MaxValue : ~A20Bit;
            if (mask != _a20Mask)
            {
                _a20Mask = mask;
                NotifyObservers(new AddressRange(default, new PhysicalAddress(ulong.MaxValue)), contentChanged: true);
            }
        }
    }

    /// <summary>
    /// Sees and may change every access to an MMIO region (any region added with <see cref="PhysicalMemoryMapBuilder.AddMmio"/>),
    /// or null (the default) for none. Set it between accesses, from the thread that uses the map; RAM and ROM accesses
    /// never consult it, so it costs nothing there.
    /// </summary>
    public IMmioAccessInterceptor? MmioInterceptor
    {
        get => _mmioInterceptor;
        set => _mmioInterceptor = value;
    }

    /// <summary>The bytes of RAM (and shadow RAM) actually allocated on the host so far.</summary>
    public long AllocatedRamBytes => _regions.Where(r => r.Kind != MemoryRegionKind.Alias && r.Ram is not null).Sum(r => r.Ram!.AllocatedBytes);

    /// <summary>The regions, in the order they were added.</summary>
    public IReadOnlyList<MemoryRegionInfo> Regions => [.. _regions.Select(r => r.ToInfo())];

    /// <summary>Applies the A20 gate to an address: what the map really accesses for <paramref name="address"/>.</summary>
    /// <param name="address">A physical address as the CPU produced it.</param>
    /// <returns>The address with bit 20 cleared when A20 is disabled.</returns>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public PhysicalAddress ApplyA20(PhysicalAddress address) => new(address.Value & _a20Mask);

    /// <summary>Registers an observer (a CPU) to be told about invalidated translations and code writes.</summary>
    /// <param name="observer">The observer.</param>
    public void AddObserver(IPhysicalMemoryObserver observer)
    {
        ArgumentNullException.ThrowIfNull(observer);
        _observers.Add(observer);
    }

    /// <summary>Removes an observer added with <see cref="AddObserver"/>.</summary>
    /// <param name="observer">The observer.</param>
    public void RemoveObserver(IPhysicalMemoryObserver observer) => _observers.Remove(observer);

    /// <summary>The region that serves <paramref name="address"/> now (after A20), or null when unmapped.</summary>
    /// <param name="address">The address.</param>
    /// <returns>The region's description.</returns>
    public MemoryRegionInfo? FindRegion(PhysicalAddress address) => Find(address.Value & _a20Mask)?.ToInfo();

    /// <summary>Reads a byte.</summary>
    /// <param name="address">The address.</param>
    /// <returns>The value.</returns>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public byte ReadByte(PhysicalAddress address)
    {
        ulong a = address.Value & _a20Mask;
        nint p = ReadPointer(a);
        return p != 0 ? *(byte*)(p + (nint)(a & PageOffsetMask)) : (byte)ReadSlow(address.Value, 1);
    }

    /// <summary>Reads a little-endian 16-bit value.</summary>
    /// <param name="address">The address.</param>
    /// <returns>The value.</returns>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ushort ReadWord(PhysicalAddress address)
    {
        ulong a = address.Value & _a20Mask;
        nint p = ReadPointer(a);
        return p != 0 && (a & PageOffsetMask) <= PageSizeInBytes - 2
            ? Unsafe.ReadUnaligned<ushort>((byte*)(p + (nint)(a & PageOffsetMask)))
            : (ushort)ReadSlow(address.Value, 2);
    }

    /// <summary>Reads a little-endian 32-bit value.</summary>
    /// <param name="address">The address.</param>
    /// <returns>The value.</returns>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public uint ReadDoubleWord(PhysicalAddress address)
    {
        ulong a = address.Value & _a20Mask;
        nint p = ReadPointer(a);
        return p != 0 && (a & PageOffsetMask) <= PageSizeInBytes - 4
            ? Unsafe.ReadUnaligned<uint>((byte*)(p + (nint)(a & PageOffsetMask)))
            : (uint)ReadSlow(address.Value, 4);
    }

    /// <summary>Reads a little-endian 64-bit value.</summary>
    /// <param name="address">The address.</param>
    /// <returns>The value.</returns>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ulong ReadQuadWord(PhysicalAddress address)
    {
        ulong a = address.Value & _a20Mask;
        nint p = ReadPointer(a);
        return p != 0 && (a & PageOffsetMask) <= PageSizeInBytes - 8
            ? Unsafe.ReadUnaligned<ulong>((byte*)(p + (nint)(a & PageOffsetMask)))
            : ReadSlow(address.Value, 8);
    }

    /// <summary>Writes a byte.</summary>
    /// <param name="address">The address.</param>
    /// <param name="value">The value.</param>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void WriteByte(PhysicalAddress address, byte value)
    {
        ulong a = address.Value & _a20Mask;
        nint p = WritePointer(a);
        if (p != 0)
        {
            *(byte*)(p + (nint)(a & PageOffsetMask)) = value;
        }
        else
        {
            WriteSlow(address.Value, 1, value);
        }
    }

    /// <summary>Writes a little-endian 16-bit value.</summary>
    /// <param name="address">The address.</param>
    /// <param name="value">The value.</param>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void WriteWord(PhysicalAddress address, ushort value)
    {
        ulong a = address.Value & _a20Mask;
        nint p = WritePointer(a);
        if (p != 0 && (a & PageOffsetMask) <= PageSizeInBytes - 2)
        {
            Unsafe.WriteUnaligned((byte*)(p + (nint)(a & PageOffsetMask)), value);
        }
        else
        {
            WriteSlow(address.Value, 2, value);
        }
    }

    /// <summary>Writes a little-endian 32-bit value.</summary>
    /// <param name="address">The address.</param>
    /// <param name="value">The value.</param>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void WriteDoubleWord(PhysicalAddress address, uint value)
    {
        ulong a = address.Value & _a20Mask;
        nint p = WritePointer(a);
        if (p != 0 && (a & PageOffsetMask) <= PageSizeInBytes - 4)
        {
            Unsafe.WriteUnaligned((byte*)(p + (nint)(a & PageOffsetMask)), value);
        }
        else
        {
            WriteSlow(address.Value, 4, value);
        }
    }

    /// <summary>Writes a little-endian 64-bit value.</summary>
    /// <param name="address">The address.</param>
    /// <param name="value">The value.</param>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void WriteQuadWord(PhysicalAddress address, ulong value)
    {
        ulong a = address.Value & _a20Mask;
        nint p = WritePointer(a);
        if (p != 0 && (a & PageOffsetMask) <= PageSizeInBytes - 8)
        {
            Unsafe.WriteUnaligned((byte*)(p + (nint)(a & PageOffsetMask)), value);
        }
        else
        {
            WriteSlow(address.Value, 8, value);
        }
    }

    /// <summary>Reads 1, 2, 4 or 8 bytes, little-endian, zero-extended.</summary>
    /// <param name="address">The address.</param>
    /// <param name="sizeInBytes">1, 2, 4 or 8.</param>
    /// <returns>The value.</returns>
    public ulong Read(PhysicalAddress address, int sizeInBytes) => sizeInBytes switch
    {
        1 => ReadByte(address),
        2 => ReadWord(address),
        4 => ReadDoubleWord(address),
        8 => ReadQuadWord(address),
        _ => throw new ArgumentOutOfRangeException(nameof(sizeInBytes), $"Memory access size must be 1, 2, 4 or 8 bytes, not {sizeInBytes}."),
    };

    /// <summary>Writes 1, 2, 4 or 8 bytes, little-endian.</summary>
    /// <param name="address">The address.</param>
    /// <param name="sizeInBytes">1, 2, 4 or 8.</param>
    /// <param name="value">The value; its low bytes are written.</param>
    public void Write(PhysicalAddress address, int sizeInBytes, ulong value)
    {
        switch (sizeInBytes)
        {
            case 1: WriteByte(address, (byte)value); break;
            case 2: WriteWord(address, (ushort)value); break;
            case 4: WriteDoubleWord(address, (uint)value); break;
            case 8: WriteQuadWord(address, value); break;
            default: throw new ArgumentOutOfRangeException(nameof(sizeInBytes), $"Memory access size must be 1, 2, 4 or 8 bytes, not {sizeInBytes}.");
        }
    }

    /// <inheritdoc />
    public void Read(PhysicalAddress address, Span<byte> destination)
    {
        ulong addr = address.Value;
        while (!destination.IsEmpty)
        {
            ulong a = addr & _a20Mask;
            int inPage = (int)Math.Min((ulong)destination.Length, PageSizeInBytes - (a & PageOffsetMask));
            nint p = ReadPointer(a);
            if (p == 0)
            {
                p = FillEntry(a, forWrite: false) ? ReadPointer(a) : 0;
            }

            if (p != 0)
            {
                new ReadOnlySpan<byte>((byte*)(p + (nint)(a & PageOffsetMask)), inPage).CopyTo(destination);
            }
            else if (Find(a) is null)
            {
                // A hole (regions are page-granular): all ones, counted as byte reads one by one would be.
                CountUnmappedReads(a, inPage);
                destination[..inPage].Fill(0xFF);
            }
            else
            {
                for (int i = 0; i < inPage; i++)
                {
                    destination[i] = (byte)ReadSlow(addr + (ulong)i, 1);
                }
            }

            destination = destination[inPage..];
            addr = unchecked(addr + (ulong)inPage);
        }
    }

    /// <inheritdoc />
    public void Write(PhysicalAddress address, ReadOnlySpan<byte> source)
    {
        ulong addr = address.Value;
        while (!source.IsEmpty)
        {
            ulong a = addr & _a20Mask;
            int inPage = (int)Math.Min((ulong)source.Length, PageSizeInBytes - (a & PageOffsetMask));
            MemoryRegion? r = Find(a);
            if (r is not null && r.Kind != MemoryRegionKind.Mmio)
            {
                WriteMemory(r, a, source[..inPage]);
            }
            else if (r is null && NextRegionStart(a) > a + (ulong)(inPage - 1))
            {
                // Nothing mapped in the rest of the page: every byte is an ignored unmapped write. Counted at once, so a
                // device's DMA over gigabytes of holes (a guest's fw_cfg request, say) costs a lookup per page, not per byte.
                CountUnmappedWrites(a, inPage);
            }
            else
            {
                for (int i = 0; i < inPage; i++)
                {
                    WriteSlow(addr + (ulong)i, 1, source[i]);
                }
            }

            source = source[inPage..];
            addr = unchecked(addr + (ulong)inPage);
        }
    }

    /// <summary>
    /// Gives the host address of the 4 KiB page holding <paramref name="address"/> for direct access,
    /// as a CPU's software TLB needs. For writes it succeeds only for RAM that holds no decoded code
    /// (the page is marked dirty first). The pointer stays valid until an observer is told with
    /// <see cref="IPhysicalMemoryObserver.OnTranslationsInvalidated"/> for that page.
    /// </summary>
    /// <param name="address">Any address in the page (A20 is applied).</param>
    /// <param name="forWrite">Whether the caller will write through the pointer.</param>
    /// <param name="hostPage">The host address of the page's first byte, or zero.</param>
    /// <returns>False for MMIO, unmapped pages, ROM (for writes) and code pages (for writes): use the slow accessors.</returns>
    public bool TryGetHostPage(PhysicalAddress address, bool forWrite, out nint hostPage)
    {
        ulong a = address.Value & _a20Mask;
        hostPage = forWrite ? WritePointer(a) : ReadPointer(a);
        if (hostPage == 0 && ResolveEntry(a, forWrite, out nint read, out nint write))
        {
            // From the resolution, not the table: pages above 64 GiB have host pointers too, though the table
            // cannot cache them (the observers hear of their invalidation all the same).
            hostPage = forWrite ? write : read;
        }

        return hostPage != 0;
    }

    /// <summary>
    /// Marks the RAM page holding <paramref name="address"/> as holding decoded code: from now on every
    /// write to it (through any alias, by the CPU or by DMA) is reported to the observers with
    /// <see cref="IPhysicalMemoryObserver.OnCodeWrite"/>. Pages of ROM, MMIO or unmapped space need no marking.
    /// </summary>
    /// <param name="address">Any address in the page.</param>
    public void MarkCodePage(PhysicalAddress address) => SetCodePage(address, isCode: true);

    /// <summary>Removes the mark set by <see cref="MarkCodePage"/>, for example when no decoded block remains on the page.</summary>
    /// <param name="address">Any address in the page.</param>
    public void UnmarkCodePage(PhysicalAddress address) => SetCodePage(address, isCode: false);

    /// <summary>Whether the page holding <paramref name="address"/> is marked as code.</summary>
    /// <param name="address">Any address in the page.</param>
    /// <returns>True when marked.</returns>
    public bool IsCodePage(PhysicalAddress address)
    {
        ulong a = address.Value & _a20Mask;
        MemoryRegion? r = Find(a);
        return r is not null && ResolveReadRam(r, a, out RamBacking? ram, out long page) && ram!.IsCode(page);
    }

    /// <summary>Whether the RAM page holding <paramref name="address"/> was written since its region's dirty bits were last taken.</summary>
    /// <param name="address">Any address in the page.</param>
    /// <returns>True when dirty; false for clean pages and for anything that is not RAM.</returns>
    public bool IsPageDirty(PhysicalAddress address)
    {
        ulong a = address.Value & _a20Mask;
        MemoryRegion? r = Find(a);
        return r is not null && ResolveWriteRam(r, a, out RamBacking? ram, out long page, ignoreMode: true) && ram!.Dirty.IsDirty(page);
    }

    /// <summary>
    /// Returns the dirty bits of a RAM (or shadowable ROM) region and clears them, so the next call
    /// reports only pages written in between. Snapshots use this.
    /// </summary>
    /// <param name="regionName">The region.</param>
    /// <returns>The bitmap as it was, one bit per page from the region start.</returns>
    public DirtyPageBitmap TakeDirtyPages(string regionName)
    {
        MemoryRegion r = GetRegion(regionName);
        RamBacking ram = r.Ram ?? throw new ArgumentException($"Region '{regionName}' is a {r.Kind} region and has no RAM to track.", nameof(regionName));
        DirtyPageBitmap taken = ram.TakeDirty();
        foreach (MemoryRegion mapper in ram.Mappers)
        {
            InvalidateRange(mapper.Range, contentChanged: false);
        }

        return taken;
    }

    /// <summary>Moves a region (a PCI BAR, for example) so that it starts at <paramref name="newStart"/>. The CPU sees the change at once.</summary>
    /// <param name="regionName">The region.</param>
    /// <param name="newStart">The new first address (4 KiB aligned for anything but MMIO).</param>
    /// <exception cref="InvalidOperationException">When the region would overlap another enabled one; the message names both.</exception>
    public void MoveRegion(string regionName, PhysicalAddress newStart)
    {
        if (!TryMoveRegion(regionName, newStart, out string? conflict))
        {
            throw new InvalidOperationException(conflict);
        }
    }

    /// <summary>Moves a region as <see cref="MoveRegion"/> does, reporting a conflict instead of throwing.</summary>
    /// <param name="regionName">The region.</param>
    /// <param name="newStart">The new first address.</param>
    /// <param name="conflict">Why the move was refused, or null.</param>
    /// <returns>True when moved.</returns>
    public bool TryMoveRegion(string regionName, PhysicalAddress newStart, out string? conflict)
    {
        MemoryRegion r = GetRegion(regionName);
        if (r.Kind != MemoryRegionKind.Mmio && (newStart.Value & PageOffsetMask) != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(newStart), $"Region '{regionName}' can only move to a multiple of 4 KiB, not {newStart}.");
        }

        ulong sizeMinusOne = r.Range.SizeInBytesMinusOne;
        if (sizeMinusOne > ulong.MaxValue - newStart.Value)
        {
            throw new ArgumentOutOfRangeException(nameof(newStart), $"Region '{regionName}' moved to {newStart} would run past the top of the 64-bit address space.");
        }

        var newRange = new AddressRange(newStart, newStart + sizeMinusOne);
        if (r.Enabled && FindConflict(r, newRange) is { } other)
        {
            conflict = $"Region '{regionName}' moved to {newRange} would overlap region '{other.Name}' {other.Range}.";
            return false;
        }

        AddressRange oldRange = r.Range;
        r.Range = newRange;
        RebuildSorted();
        if (r.Enabled)
        {
            InvalidateRange(oldRange, contentChanged: true);
            InvalidateRange(newRange, contentChanged: true);
        }

        conflict = null;
        return true;
    }

    /// <summary>Maps or unmaps a region (a PCI device's memory decoding, for example). The CPU sees the change at once.</summary>
    /// <param name="regionName">The region.</param>
    /// <param name="enabled">Whether it is visible.</param>
    /// <exception cref="InvalidOperationException">When enabling would overlap another enabled region.</exception>
    public void SetRegionEnabled(string regionName, bool enabled)
    {
        MemoryRegion r = GetRegion(regionName);
        if (r.Enabled == enabled)
        {
            return;
        }

        if (enabled && FindConflict(r, r.Range) is { } other)
        {
            throw new InvalidOperationException($"Region '{regionName}' {r.Range} cannot be enabled: it overlaps region '{other.Name}' {other.Range}.");
        }

        r.Enabled = enabled;
        RebuildSorted();
        InvalidateRange(r.Range, contentChanged: true);
    }

    /// <summary>Switches a shadowable ROM region between its ROM and RAM views, effective immediately.</summary>
    /// <param name="regionName">A region added with <see cref="PhysicalMemoryMapBuilder.AddShadowableRom"/>.</param>
    /// <param name="mode">Where reads and writes go.</param>
    public void SetShadowMode(string regionName, ShadowMode mode)
    {
        MemoryRegion r = GetRegion(regionName);
        if (r.Kind != MemoryRegionKind.ShadowableRom)
        {
            throw new ArgumentException($"Region '{regionName}' is a {r.Kind} region, not a shadowable ROM.", nameof(regionName));
        }

        if (r.ShadowMode == mode)
        {
            return;
        }

        r.ShadowMode = mode;
        InvalidateRange(r.Range, contentChanged: true);
        foreach (MemoryRegion alias in _regions.Where(a => a.AliasTarget == r))
        {
            InvalidateRange(alias.Range, contentChanged: true);
        }
    }

    /// <summary>The current shadow mode of a shadowable ROM region.</summary>
    /// <param name="regionName">The region.</param>
    /// <returns>The mode.</returns>
    public ShadowMode GetShadowMode(string regionName) => GetRegion(regionName).ShadowMode;

    // The two lookups below skip the runtime's bounds checks: the directory index is checked against
    // DirectoryEntries and every table has exactly TableEntries entries, so both indexes are in range.
    // (Measured: bounds-checked indexing made aligned reads about 30% slower; docs/performance.md.)
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private nint ReadPointer(ulong maskedAddress)
    {
        ulong dir = maskedAddress >> (PageShift + TableShift);
        if (dir < DirectoryEntries)
        {
            PageEntry[]? table = Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_directory), (nint)dir);
            if (table is not null)
            {
                return Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(table), (nint)(maskedAddress >> PageShift) & (TableEntries - 1)).Read;
            }
        }

        return 0;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private nint WritePointer(ulong maskedAddress)
    {
        ulong dir = maskedAddress >> (PageShift + TableShift);
        if (dir < DirectoryEntries)
        {
            PageEntry[]? table = Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_directory), (nint)dir);
            if (table is not null)
            {
                return Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(table), (nint)(maskedAddress >> PageShift) & (TableEntries - 1)).Write;
            }
        }

        return 0;
    }

    private ulong ReadSlow(ulong address, int size)
    {
        ulong a = address & _a20Mask;
        MemoryRegion? r = Find(a);
        ulong last = unchecked(a + (ulong)size - 1);
        bool contiguous = last >= a && ((unchecked(address + (ulong)size - 1) & _a20Mask) == last);
        if (r is not null && contiguous)
        {
            if (r.Kind == MemoryRegionKind.Mmio)
            {
                if (last <= r.Range.LastAddress.Value)
                {
                    ulong read = MmioRead(r.Device!, a - r.Range.Start.Value, size);

                    // Only MMIO accesses pay for the check: RAM and ROM never come here once their page is cached.
                    return _mmioInterceptor is { } interceptor
                        ? interceptor.AfterRead(r.Name, new PhysicalAddress(a), size, read) & SizeMask(size)
                        : read;
                }
            }
            else if ((a & PageOffsetMask) + (ulong)size <= PageSizeInBytes)
            {
                // Memory regions are page-granular: the whole access lies in r.
                FillEntry(a, forWrite: false);
                nint p = ResolveReadPointer(r, a);
                return ReadRaw((byte*)(p + (nint)(a & PageOffsetMask)), size);
            }
        }

        if (size == 1)
        {
            CountUnmappedRead(a);
            return 0xFF;
        }

        // Crossing a page or region boundary: exactly the same bytes read one by one.
        ulong value = 0;
        for (int i = 0; i < size; i++)
        {
            value |= ReadSlow(unchecked(address + (ulong)i), 1) << (8 * i);
        }

        return value;
    }

    private void WriteSlow(ulong address, int size, ulong value)
    {
        ulong a = address & _a20Mask;
        MemoryRegion? r = Find(a);
        ulong last = unchecked(a + (ulong)size - 1);
        bool contiguous = last >= a && ((unchecked(address + (ulong)size - 1) & _a20Mask) == last);
        if (r is not null && contiguous)
        {
            if (r.Kind == MemoryRegionKind.Mmio)
            {
                if (last <= r.Range.LastAddress.Value)
                {
                    if (_mmioInterceptor is { } interceptor)
                    {
                        value &= SizeMask(size);
                        if (!interceptor.BeforeWrite(r.Name, new PhysicalAddress(a), size, ref value))
                        {
                            return;
                        }
                    }

                    MmioWrite(r.Device!, a - r.Range.Start.Value, size, value);
                    return;
                }
            }
            else if ((a & PageOffsetMask) + (ulong)size <= PageSizeInBytes)
            {
                Span<byte> bytes = stackalloc byte[8];
                BinaryPrimitives.WriteUInt64LittleEndian(bytes, value);
                WriteMemory(r, a, bytes[..size]);
                return;
            }
        }

        if (size == 1)
        {
            CountUnmappedWrite(a);
            return;
        }

        for (int i = 0; i < size; i++)
        {
            WriteSlow(unchecked(address + (ulong)i), 1, (value >> (8 * i)) & 0xFF);
        }
    }

    /// <summary>Writes bytes that lie within one page of memory region <paramref name="r"/>.</summary>
    private void WriteMemory(MemoryRegion r, ulong maskedAddress, ReadOnlySpan<byte> bytes)
    {
        if (!ResolveWriteRam(r, maskedAddress, out RamBacking? ram, out long page, ignoreMode: false))
        {
            Interlocked.Increment(ref Statistics.IgnoredRomWriteCount);
            return;
        }

        nint p = ram!.EnsureWritablePage(page, out PageMove moved);
        InvalidateMoved(ram, page, moved);

        ram.Dirty.Set(page);
        int offsetInPage = (int)(maskedAddress & PageOffsetMask);
        bytes.CopyTo(new Span<byte>((byte*)(p + offsetInPage), bytes.Length));
        if (ram.IsCode(page))
        {
            NotifyCodeWrite(ram, page, offsetInPage, bytes.Length);
        }
        else
        {
            FillEntry(maskedAddress, forWrite: false);
        }
    }

    /// <summary>Fills the page-table entry for the page of <paramref name="maskedAddress"/>; for writes, first makes the page writable (allocated, dirty).</summary>
    /// <returns>False when the page is not memory (MMIO or unmapped) or is beyond the table's reach.</returns>
    private bool FillEntry(ulong maskedAddress, bool forWrite) =>
        ResolveEntry(maskedAddress, forWrite, out _, out _) && (maskedAddress >> (PageShift + TableShift)) < DirectoryEntries;

    /// <summary>
    /// Resolves the host pointers of the page of <paramref name="maskedAddress"/> (for writes, first making the page
    /// writable: allocated, dirty) and caches them in the page table when the table reaches that far.
    /// </summary>
    /// <returns>False when the page is not memory (MMIO or unmapped).</returns>
    private bool ResolveEntry(ulong maskedAddress, bool forWrite, out nint read, out nint write)
    {
        read = 0;
        write = 0;
        MemoryRegion? r = Find(maskedAddress);
        if (r is null || r.Kind == MemoryRegionKind.Mmio)
        {
            return false;
        }

        if (ResolveWriteRam(r, maskedAddress, out RamBacking? ram, out long page, ignoreMode: false))
        {
            if (forWrite && !ram!.IsCode(page))
            {
                ram.EnsureWritablePage(page, out PageMove moved);
                InvalidateMoved(ram, page, moved);

                ram.Dirty.Set(page);
            }

            // A chunk shared with a forked map is written only through the slow path, which copies it first.
            if (!ram!.IsCode(page) && ram.Dirty.IsDirtyUnchecked(page) && !ram.IsShared(page))
            {
                write = ram.PeekPage(page);
            }
        }

        read = ResolveReadPointer(r, maskedAddress);
        ulong dir = maskedAddress >> (PageShift + TableShift);
        if (dir >= DirectoryEntries)
        {
            return true;
        }

        PageEntry[] table = _directory[dir] ??= new PageEntry[TableEntries];
        ref PageEntry entry = ref table[(int)(maskedAddress >> PageShift) & (TableEntries - 1)];
        entry.Read = read;
        entry.Write = write;
        return true;
    }

    /// <summary>The host pointer of the page that reads of <paramref name="maskedAddress"/> see (RAM, zero page or ROM).</summary>
    private nint ResolveReadPointer(MemoryRegion r, ulong maskedAddress)
    {
        MemoryRegion owner = r.AliasTarget ?? r;
        ulong offset = maskedAddress - r.Range.Start.Value + (r.AliasTarget is null ? 0 : r.AliasOffset);
        long page = (long)(offset >> PageShift);
        bool fromRam = owner.Kind == MemoryRegionKind.Ram
            || (owner.Kind == MemoryRegionKind.ShadowableRom && (owner.ShadowMode & ShadowMode.ReadFromRam) != 0);
        if (fromRam)
        {
            nint p = owner.Ram!.PeekPage(page);
            return p != 0 ? p : _zeroPagePointer;
        }

        return owner.RomPointer + (nint)(offset & ~PageOffsetMask);
    }

    private static bool ResolveReadRam(MemoryRegion r, ulong maskedAddress, out RamBacking? ram, out long page)
    {
        MemoryRegion owner = r.AliasTarget ?? r;
        ulong offset = maskedAddress - r.Range.Start.Value + (r.AliasTarget is null ? 0 : r.AliasOffset);
        page = (long)(offset >> PageShift);
        bool fromRam = owner.Kind == MemoryRegionKind.Ram
            || (owner.Kind == MemoryRegionKind.ShadowableRom && (owner.ShadowMode & ShadowMode.ReadFromRam) != 0);
        ram = fromRam ? owner.Ram : null;
        return fromRam;
    }

    private static bool ResolveWriteRam(MemoryRegion r, ulong maskedAddress, out RamBacking? ram, out long page, bool ignoreMode)
    {
        MemoryRegion owner = r.AliasTarget ?? r;
        ulong offset = maskedAddress - r.Range.Start.Value + (r.AliasTarget is null ? 0 : r.AliasOffset);
        page = (long)(offset >> PageShift);
        bool toRam = owner.Kind == MemoryRegionKind.Ram
            || (owner.Kind == MemoryRegionKind.ShadowableRom && (ignoreMode || (owner.ShadowMode & ShadowMode.WriteToRam) != 0));
        ram = toRam ? owner.Ram : null;
        return toRam;
    }

    private void SetCodePage(PhysicalAddress address, bool isCode)
    {
        ulong a = address.Value & _a20Mask;
        MemoryRegion? r = Find(a);
        if (r is null || r.Kind == MemoryRegionKind.Mmio)
        {
            return;
        }

        // Code fetched from a shadow region in ROM-read mode comes from ROM, which writes cannot change;
        // mark its RAM anyway so that a later switch to RAM reads keeps the mark coherent.
        MemoryRegion owner = r.AliasTarget ?? r;
        if (owner.Ram is null)
        {
            return;
        }

        ulong offset = a - r.Range.Start.Value + (r.AliasTarget is null ? 0 : r.AliasOffset);
        long page = (long)(offset >> PageShift);
        if (owner.Ram.SetCode(page, isCode) && isCode)
        {
            InvalidateBackingPages(owner.Ram, page, 1, contentChanged: false);
        }
    }

    private void NotifyCodeWrite(RamBacking ram, long page, int offsetInPage, int size)
    {
        ulong backingOffset = ((ulong)page << PageShift) + (ulong)offsetInPage;
        foreach (MemoryRegion mapper in ram.Mappers)
        {
            if (!mapper.Enabled)
            {
                continue;
            }

            ulong start = mapper.AliasTarget is null ? 0 : mapper.AliasOffset;
            if (backingOffset < start || backingOffset - start > mapper.Range.SizeInBytesMinusOne)
            {
                continue;
            }

            var physical = new PhysicalAddress(mapper.Range.Start.Value + (backingOffset - start));
            foreach (IPhysicalMemoryObserver observer in _observers)
            {
                observer.OnCodeWrite(physical, size);
            }
        }
    }

    /// <summary>
    /// Drops the translations of what <see cref="RamBacking.EnsureWritablePage"/> moved: a new chunk (its pages may be
    /// cached as the shared zero page), a chunk taken back from a share, or one page copied out of a shared chunk.
    /// </summary>
    private void InvalidateMoved(RamBacking ram, long page, PageMove moved)
    {
        if (moved == PageMove.Chunk)
        {
            InvalidateBackingPages(ram, ram.FirstPageOfChunk(page), RamBacking.PagesInChunk, contentChanged: false);
        }
        else if (moved == PageMove.Page)
        {
            InvalidateBackingPages(ram, page, 1, contentChanged: false);
        }
    }

    /// <summary>Drops cached translations of <paramref name="count"/> backing pages at every place the backing is mapped.</summary>
    private void InvalidateBackingPages(RamBacking ram, long firstPage, int count, bool contentChanged)
    {
        ulong first = (ulong)firstPage << PageShift;
        ulong lastExclusive = (ulong)Math.Min(firstPage + count, ram.PageCount) << PageShift;
        foreach (MemoryRegion mapper in ram.Mappers)
        {
            ulong start = mapper.AliasTarget is null ? 0 : mapper.AliasOffset;
            ulong end = start + mapper.Range.SizeInBytesMinusOne + 1;
            ulong lo = Math.Max(first, start);
            ulong hi = Math.Min(lastExclusive, end);
            if (lo < hi)
            {
                ulong physical = mapper.Range.Start.Value + (lo - start);
                InvalidateRange(new AddressRange(new PhysicalAddress(physical), new PhysicalAddress(physical + (hi - lo) - 1)), contentChanged);
            }
        }
    }

    private void InvalidateRange(AddressRange range, bool contentChanged)
    {
        ulong firstPage = range.Start.Value >> PageShift;
        ulong lastPage = range.LastAddress.Value >> PageShift;
        ulong lastTablePage = ((ulong)DirectoryEntries << TableShift) - 1;
        if (firstPage <= lastTablePage)
        {
            ulong clampedLast = Math.Min(lastPage, lastTablePage);
            for (ulong dir = firstPage >> TableShift; dir <= clampedLast >> TableShift; dir++)
            {
                PageEntry[]? table = _directory[dir];
                if (table is null)
                {
                    continue;
                }

                ulong tableFirst = dir << TableShift;
                int from = (int)(Math.Max(firstPage, tableFirst) - tableFirst);
                int to = (int)(Math.Min(clampedLast, tableFirst + TableEntries - 1) - tableFirst);
                if (from == 0 && to == TableEntries - 1)
                {
                    _directory[dir] = null;
                }
                else
                {
                    Array.Clear(table, from, to - from + 1);
                }
            }
        }

        NotifyObservers(range, contentChanged);
    }

    private void NotifyObservers(AddressRange range, bool contentChanged)
    {
        foreach (IPhysicalMemoryObserver observer in _observers)
        {
            observer.OnTranslationsInvalidated(range, contentChanged);
        }
    }

    private ulong MmioRead(IMmioDevice device, ulong offset, int size)
    {
        AccessWidths supported = device.SupportedWidths;
        if ((supported & (AccessWidths)size) != 0 && (offset & (ulong)(size - 1)) == 0)
        {
            return device.Read(new RegionOffset(offset), size) & SizeMask(size);
        }

        // A narrower access: read the narrowest supported wider unit that contains it, keep its bytes.
        for (int wider = size * 2; wider <= 8; wider *= 2)
        {
            ulong baseOffset = offset & ~(ulong)(wider - 1);
            if ((supported & (AccessWidths)wider) != 0 && offset + (ulong)size <= baseOffset + (ulong)wider)
            {
                ulong v = device.Read(new RegionOffset(baseOffset), wider);
                return (v >> (int)(8 * (offset - baseOffset))) & SizeMask(size);
            }
        }

        if (size == 1)
        {
            Interlocked.Increment(ref Statistics.UnsupportedWidthCount);
            return 0xFF;
        }

        // Wider or unaligned: two halves, the lower address in the low bytes (little-endian).
        int half = size / 2;
        ulong low = MmioRead(device, offset, half);
        ulong high = MmioRead(device, offset + (ulong)half, half);
        return low | (high << (8 * half));
    }

    private void MmioWrite(IMmioDevice device, ulong offset, int size, ulong value)
    {
        AccessWidths supported = device.SupportedWidths;
        value &= SizeMask(size);
        if ((supported & (AccessWidths)size) != 0 && (offset & (ulong)(size - 1)) == 0)
        {
            device.Write(new RegionOffset(offset), size, value);
            return;
        }

        for (int wider = size * 2; wider <= 8; wider *= 2)
        {
            ulong baseOffset = offset & ~(ulong)(wider - 1);
            if ((supported & (AccessWidths)wider) != 0 && offset + (ulong)size <= baseOffset + (ulong)wider)
            {
                // Merge into the containing unit: read it, replace our bytes, write it back.
                int shift = (int)(8 * (offset - baseOffset));
                ulong old = device.Read(new RegionOffset(baseOffset), wider);
                ulong merged = (old & ~(SizeMask(size) << shift)) | (value << shift);
                device.Write(new RegionOffset(baseOffset), wider, merged & SizeMask(wider));
                return;
            }
        }

        if (size == 1)
        {
            Interlocked.Increment(ref Statistics.UnsupportedWidthCount);
            return;
        }

        int half = size / 2;
        MmioWrite(device, offset, half, value & SizeMask(half));
        MmioWrite(device, offset + (ulong)half, half, value >> (8 * half));
    }

    private static ulong SizeMask(int size) => size >= 8 ? ulong.MaxValue : (1UL << (8 * size)) - 1;

    private static ulong ReadRaw(byte* p, int size) => size switch
    {
        1 => *p,
        2 => Unsafe.ReadUnaligned<ushort>(p),
        4 => Unsafe.ReadUnaligned<uint>(p),
        _ => Unsafe.ReadUnaligned<ulong>(p),
    };

    private void CountUnmappedRead(ulong address)
    {
        Interlocked.Increment(ref Statistics.UnmappedReadCount);
        if (_strict)
        {
            throw new UnmappedAccessException($"Read of unmapped physical address {new PhysicalAddress(address)}.");
        }
    }

    private void CountUnmappedReads(ulong address, int count)
    {
        if (_strict)
        {
            CountUnmappedRead(address); // throws at the first byte, as the byte-by-byte read did
        }

        Interlocked.Add(ref Statistics.UnmappedReadCount, count);
    }

    private void CountUnmappedWrites(ulong address, int count)
    {
        if (_strict)
        {
            CountUnmappedWrite(address);
        }

        Interlocked.Add(ref Statistics.UnmappedWriteCount, count);
    }

    private void CountUnmappedWrite(ulong address)
    {
        Interlocked.Increment(ref Statistics.UnmappedWriteCount);
        if (_strict)
        {
            throw new UnmappedAccessException($"Write to unmapped physical address {new PhysicalAddress(address)}.");
        }
    }

    /// <summary>The start of the first mapped region above <paramref name="maskedAddress"/>, or <see cref="ulong.MaxValue"/> when none.</summary>
    private ulong NextRegionStart(ulong maskedAddress)
    {
        MemoryRegion[] sorted = _sorted;
        int lo = 0;
        int hi = sorted.Length - 1;
        while (lo <= hi)
        {
            int mid = (lo + hi) >>> 1;
            if (sorted[mid].Range.Start.Value <= maskedAddress)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid - 1;
            }
        }

        return lo < sorted.Length ? sorted[lo].Range.Start.Value : ulong.MaxValue;
    }

    private MemoryRegion? Find(ulong maskedAddress)
    {
        MemoryRegion[] sorted = _sorted;
        int lo = 0;
        int hi = sorted.Length - 1;
        while (lo <= hi)
        {
            int mid = (lo + hi) >>> 1;
            MemoryRegion r = sorted[mid];
            if (maskedAddress < r.Range.Start.Value)
            {
                hi = mid - 1;
            }
            else if (maskedAddress > r.Range.LastAddress.Value)
            {
                lo = mid + 1;
            }
            else
            {
                return r;
            }
        }

        return null;
    }

    private MemoryRegion? FindConflict(MemoryRegion moving, AddressRange range) =>
        _regions.FirstOrDefault(o => o != moving && o.Enabled && o.Range.Intersects(range));

    private MemoryRegion GetRegion(string name) =>
        _regions.FirstOrDefault(r => r.Name == name) ?? throw new ArgumentException($"No region named '{name}' in the memory map.", nameof(name));

    private void RebuildSorted() => _sorted = [.. _regions.Where(r => r.Enabled).OrderBy(r => r.Range.Start.Value)];

    private struct PageEntry
    {
        public nint Read;
        public nint Write;
    }
}
