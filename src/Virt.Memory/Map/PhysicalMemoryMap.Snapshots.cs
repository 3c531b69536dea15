namespace Virt.Memory;

/// <summary>Reading and replacing whole RAM backings, for machine snapshots.</summary>
public sealed partial class PhysicalMemoryMap
{
    /// <summary>
    /// The regions that own RAM (RAM regions and shadowable ROMs, whose shadow RAM the guest may have written), in the
    /// order they were added. Aliases are left out: they show another region's bytes.
    /// </summary>
    public IReadOnlyList<string> RamRegionNames => [.. _regions.Where(r => r.Kind != MemoryRegionKind.Alias && r.Ram is not null).Select(r => r.Name)];

    /// <summary>The size of a region's RAM backing in bytes.</summary>
    /// <param name="regionName">A region from <see cref="RamRegionNames"/>.</param>
    /// <returns>The size.</returns>
    public ulong GetRamSizeInBytes(string regionName) => GetRam(regionName).SizeInBytes;

    /// <summary>
    /// The chunks (of <see cref="RamChunkSizeInBytes"/>) of a region's RAM that were allocated, ascending. A chunk never
    /// written is not allocated and reads as zeros, so a snapshot need not store it.
    /// </summary>
    /// <param name="regionName">A region from <see cref="RamRegionNames"/>.</param>
    /// <returns>The chunk indexes from the start of the region.</returns>
    public IReadOnlyList<long> GetAllocatedRamChunks(string regionName) => [.. GetRam(regionName).EnumerateAllocatedChunks()];

    /// <summary>The bytes of one allocated RAM chunk, or an empty span when the chunk was never written (all zeros).</summary>
    /// <param name="regionName">A region from <see cref="RamRegionNames"/>.</param>
    /// <param name="chunkIndex">The chunk index from the start of the region.</param>
    /// <returns>A view of the chunk, valid until the next write to the map; <see cref="RamChunkSizeInBytes"/> long or empty.</returns>
    public ReadOnlySpan<byte> PeekRamChunk(string regionName, long chunkIndex)
    {
        RamBacking ram = GetRam(regionName);
        ArgumentOutOfRangeException.ThrowIfNegative(chunkIndex);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(chunkIndex, ram.ChunkCount);

        // A chunk partly copied out of a share with a fork is two arrays: make it one (its pages move).
        if (ram.MakeChunkContiguous(chunkIndex))
        {
            InvalidateBackingPages(ram, chunkIndex * RamBacking.PagesInChunk, RamBacking.PagesInChunk, contentChanged: false);
        }

        return ram.PeekChunk(chunkIndex);
    }

    /// <summary>
    /// Replaces the whole contents of a region's RAM: the chunks in <paramref name="chunks"/> get those bytes, every other
    /// chunk reads as zeros afterwards. Chunks already allocated stay allocated (zeroed), because the CPU may hold host
    /// pointers into them until it drops its translations; every place the backing is mapped is invalidated with
    /// changed content, so decoded code from it is discarded, and the written pages are marked dirty.
    /// </summary>
    /// <param name="regionName">A region from <see cref="RamRegionNames"/>.</param>
    /// <param name="chunks">Chunk index to <see cref="RamChunkSizeInBytes"/> bytes.</param>
    /// <exception cref="ArgumentException">When a chunk index is outside the region or a chunk has another length; nothing is changed then.</exception>
    public void RestoreRam(string regionName, IReadOnlyDictionary<long, byte[]> chunks)
    {
        ArgumentNullException.ThrowIfNull(chunks);
        RamBacking ram = GetRam(regionName);
        foreach ((long index, byte[] bytes) in chunks)
        {
            if (index < 0 || index >= ram.ChunkCount || bytes is null || bytes.Length != RamChunkSizeInBytes)
            {
                throw new ArgumentException($"Chunk {index} of region '{regionName}' is outside the region or not {RamChunkSizeInBytes} bytes.", nameof(chunks));
            }
        }

        foreach (long index in ram.EnumerateAllocatedChunks().ToList())
        {
            if (!chunks.ContainsKey(index))
            {
                Array.Clear(ram.EnsureChunk(index));     // a chunk shared with a fork is copied (then cleared), not cleared for both
                MarkChunkDirty(ram, index);
            }
        }

        foreach ((long index, byte[] bytes) in chunks)
        {
            bytes.AsSpan().CopyTo(ram.EnsureChunk(index));
            MarkChunkDirty(ram, index);
        }

        // One invalidation for the whole backing: it drops zero-page translations of newly allocated chunks and, with
        // changed content, the code the CPU decoded from the old bytes.
        InvalidateBackingPages(ram, 0, (int)Math.Min(ram.PageCount, int.MaxValue), contentChanged: true);
    }

    /// <summary>
    /// Puts back one page of a region's RAM as it was at a saved point (an in-memory checkpoint): the bytes are written
    /// straight to the backing (allocating its chunk if needed) and every place the page is mapped is invalidated with
    /// changed content. The page is not marked dirty, because the dirty bits then describe changes since that point.
    /// </summary>
    /// <param name="regionName">A region from <see cref="RamRegionNames"/>.</param>
    /// <param name="pageIndex">The page index from the start of the region.</param>
    /// <param name="contents"><see cref="PageSizeInBytes"/> bytes, or empty for a page of zeros.</param>
    /// <exception cref="ArgumentException">When the page is outside the region or <paramref name="contents"/> has another length.</exception>
    public unsafe void RestoreRamPage(string regionName, long pageIndex, ReadOnlySpan<byte> contents)
    {
        RamBacking ram = GetRam(regionName);
        ArgumentOutOfRangeException.ThrowIfNegative(pageIndex);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(pageIndex, ram.PageCount);
        if (!contents.IsEmpty && contents.Length != PageSizeInBytes)
        {
            throw new ArgumentException($"A page is {PageSizeInBytes} bytes, not {contents.Length}.", nameof(contents));
        }

        long chunkIndex = pageIndex / RamBacking.PagesInChunk;
        byte[]? chunk = ram.PeekChunk(chunkIndex);
        if (chunk is null && contents.IsEmpty)
        {
            return;     // never written: already zeros
        }

        nint host = ram.EnsureWritablePage(pageIndex, out PageMove moved);
        var page = new Span<byte>((void*)host, PageSizeInBytes);
        if (contents.IsEmpty)
        {
            page.Clear();
        }
        else
        {
            contents.CopyTo(page);
        }

        // A newly allocated chunk may be cached as the shared zero page for reads, and a chunk taken back from a share with
        // a fork may have moved pages: then drop the whole chunk's translations (a page copied out of a share is this page).
        bool chunkMoved = moved == PageMove.Chunk;
        InvalidateBackingPages(ram, chunkMoved ? chunkIndex * RamBacking.PagesInChunk : pageIndex, chunkMoved ? RamBacking.PagesInChunk : 1, contentChanged: true);
    }

    private static void MarkChunkDirty(RamBacking ram, long chunkIndex)
    {
        long first = chunkIndex * RamBacking.PagesInChunk;
        long end = Math.Min(first + RamBacking.PagesInChunk, ram.PageCount);
        for (long page = first; page < end; page++)
        {
            ram.Dirty.Set(page);
        }
    }

    private RamBacking GetRam(string regionName)
    {
        MemoryRegion r = GetRegion(regionName);
        return r.Kind != MemoryRegionKind.Alias && r.Ram is not null
            ? r.Ram
            : throw new ArgumentException($"Region '{regionName}' is a {r.Kind} region and has no RAM of its own.", nameof(regionName));
    }
}
