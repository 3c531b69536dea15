using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Virt.Memory;

/// <summary>
/// The bytes behind a RAM region (or the shadow RAM of a shadowable ROM), allocated lazily in
/// chunks of <see cref="PhysicalMemoryMap.RamChunkSizeInBytes"/>. Chunks are pinned arrays so host
/// pointers into them stay valid for the life of the map without unmanaged frees.
/// </summary>
/// <remarks>
/// Everything here is sized by what the guest touched, not by the region: the chunk index is two-level
/// (a directory of groups of <see cref="ChunksPerGroup"/> chunks, each group allocated with its first chunk),
/// and the dirty and code marks are <see cref="SparsePageBits"/>. An idle 1 TiB region costs its
/// 128 KiB group directory and two 32 KiB bit directories; with one flat entry per chunk and one bool per
/// page it cost 545 MiB (measured 2026-12-05, docs/architecture.md).
/// <para>
/// Copy-on-write: <see cref="ShareInto"/> makes another backing (a forked machine's) refer to the same chunks. A shared
/// chunk carries a <see cref="ChunkShare"/> counting its holders; whoever writes it first while others still hold it
/// copies it (<see cref="EnsureWritablePage"/>), and the last holder writes it in place. The holders may run on different
/// threads: the count is changed with interlocked operations, and a holder copies a chunk before it lets go of it, so
/// the chunk never changes while another holder still reads it.
/// </para>
/// </remarks>
internal sealed class RamBacking
{
    /// <summary>Chunks per group: 1,024 chunks of 64 KiB, so a group covers 64 MiB and costs 16 KiB of index.</summary>
    public const int ChunksPerGroup = 1 << GroupShift;

    private const int GroupShift = 10;
    private const int PagesPerChunk = PhysicalMemoryMap.RamChunkSizeInBytes >> PhysicalMemoryMap.PageShift;

    private readonly ChunkGroup?[] _groups;
    private readonly SparsePageBits _codePages;

    public RamBacking(ulong sizeInBytes)
    {
        SizeInBytes = sizeInBytes;
        PageCount = (long)(sizeInBytes >> PhysicalMemoryMap.PageShift);
        ChunkCount = (PageCount + PagesPerChunk - 1) / PagesPerChunk;
        _groups = new ChunkGroup?[(ChunkCount + ChunksPerGroup - 1) >> GroupShift];
        _codePages = new SparsePageBits(PageCount);
        Dirty = new DirtyPageBitmap(PageCount);
    }

    public ulong SizeInBytes { get; }

    public long PageCount { get; }

    public long ChunkCount { get; }

    public DirtyPageBitmap Dirty { get; private set; }

    public List<MemoryRegion> Mappers { get; } = [];

    public long AllocatedBytes { get; private set; }

    public int CodePageCount { get; private set; }

    public static int PagesInChunk => PagesPerChunk;

    /// <summary>The chunks this backing copied because another backing shared them (copy-on-write).</summary>
    public long CopiedOnWriteChunkCount { get; private set; }

    /// <summary>The number of chunks this backing shares with other backings now.</summary>
    public long SharedChunkCount
    {
        get
        {
            long count = 0;
            foreach (ChunkGroup? group in _groups)
            {
                if (group?.Shares is { } shares)
                {
                    foreach (ChunkShare? share in shares)
                    {
                        count += share is not null && Volatile.Read(ref share.Holders) > 1 ? 1 : 0;
                    }
                }
            }

            return count;
        }
    }

    /// <summary>The number of chunk groups allocated (for tests of the memory cost).</summary>
    public int AllocatedGroupCount => _groups.Count(g => g is not null);

    /// <summary>The host pointer of a page, or zero when its chunk was never written.</summary>
    public nint PeekPage(long pageIndex)
    {
        long chunkIndex = pageIndex / PagesPerChunk;
        ChunkGroup? group = _groups[chunkIndex >> GroupShift];
        if (group is null)
        {
            return 0;
        }

        nint chunk = group.Pointers[(int)(chunkIndex & (ChunksPerGroup - 1))];
        return chunk == 0 ? 0 : chunk + (nint)((pageIndex % PagesPerChunk) << PhysicalMemoryMap.PageShift);
    }

    /// <summary>The host pointer of a page, allocating its chunk; <paramref name="allocated"/> tells whether this call did.</summary>
    public nint EnsurePage(long pageIndex, out bool allocated)
    {
        long chunkIndex = pageIndex / PagesPerChunk;
        ChunkGroup group = _groups[chunkIndex >> GroupShift] ??= new ChunkGroup((int)Math.Min(ChunksPerGroup, ChunkCount - (chunkIndex & ~(long)(ChunksPerGroup - 1))));
        int slot = (int)(chunkIndex & (ChunksPerGroup - 1));
        allocated = false;
        if (group.Pointers[slot] == 0)
        {
            byte[] chunk = GC.AllocateArray<byte>(PhysicalMemoryMap.RamChunkSizeInBytes, pinned: true);
            group.Chunks[slot] = chunk;
            group.Pointers[slot] = AddressOf(chunk);
            AllocatedBytes += chunk.Length;
            allocated = true;
        }

        return group.Pointers[slot] + (nint)((pageIndex % PagesPerChunk) << PhysicalMemoryMap.PageShift);
    }

    /// <summary>
    /// Whether the page's chunk may be shared with another backing, so it must not be written in place (nor a write
    /// pointer to it handed out) before <see cref="EnsureWritablePage"/>.
    /// </summary>
    public bool IsShared(long pageIndex)
    {
        long chunkIndex = pageIndex / PagesPerChunk;
        return _groups[chunkIndex >> GroupShift]?.Shares?[(int)(chunkIndex & (ChunksPerGroup - 1))] is not null;
    }

    /// <summary>
    /// The host pointer of a page that this backing alone holds, so it may be written: allocates its chunk, or copies a
    /// chunk shared with another backing. <paramref name="moved"/> tells whether the chunk's host address changed (a new
    /// or copied chunk): the caller then drops every translation of the chunk. A copy keeps the bytes, so decoded code
    /// stays valid.
    /// </summary>
    public nint EnsureWritablePage(long pageIndex, out bool moved)
    {
        nint p = EnsurePage(pageIndex, out moved);
        long chunkIndex = pageIndex / PagesPerChunk;
        ChunkGroup group = _groups[chunkIndex >> GroupShift]!;
        int slot = (int)(chunkIndex & (ChunksPerGroup - 1));
        if (group.Shares?[slot] is not { } share)
        {
            return p;
        }

        group.Shares[slot] = null;
        if (Volatile.Read(ref share.Holders) == 1)
        {
            // Every other holder copied the chunk or let it go: it is ours now, at the same address.
            return p;
        }

        // Uninitialized: every byte is overwritten by the copy at once, so zeroing it first would only double the cost.
        byte[] copy = GC.AllocateUninitializedArray<byte>(PhysicalMemoryMap.RamChunkSizeInBytes, pinned: true);
        group.Chunks[slot]!.AsSpan().CopyTo(copy);
        group.Chunks[slot] = copy;
        group.Pointers[slot] = AddressOf(copy);

        // Only after the copy: a holder that then finds itself the last one writes the old chunk in place.
        Interlocked.Decrement(ref share.Holders);
        CopiedOnWriteChunkCount++;
        moved = true;
        return group.Pointers[slot] + (nint)((pageIndex % PagesPerChunk) << PhysicalMemoryMap.PageShift);
    }

    /// <summary>
    /// Makes <paramref name="target"/> (a backing of the same size) refer to every chunk of this one, copy-on-write on
    /// both sides; the target's own chunks are dropped (released if shared). Costs one pass over the chunk index.
    /// </summary>
    public void ShareInto(RamBacking target)
    {
        target.Release();
        for (int g = 0; g < _groups.Length; g++)
        {
            if (_groups[g] is not { } group)
            {
                continue;
            }

            ChunkGroup copy = target._groups[g] = new ChunkGroup(group.Chunks.Length);
            group.Shares ??= new ChunkShare?[group.Chunks.Length];
            copy.Shares = new ChunkShare?[group.Chunks.Length];
            for (int slot = 0; slot < group.Chunks.Length; slot++)
            {
                if (group.Chunks[slot] is not { } chunk)
                {
                    continue;
                }

                ChunkShare? share = group.Shares[slot];
                if (share is null)
                {
                    group.Shares[slot] = share = new ChunkShare();
                }

                Interlocked.Increment(ref share.Holders);
                copy.Shares[slot] = share;
                copy.Chunks[slot] = chunk;
                copy.Pointers[slot] = group.Pointers[slot];
                target.AllocatedBytes += chunk.Length;
            }
        }
    }

    /// <summary>Drops every chunk (shared ones are handed over to their other holders): the backing reads as zeros afterwards.</summary>
    public void Release()
    {
        for (int g = 0; g < _groups.Length; g++)
        {
            if (_groups[g]?.Shares is { } shares)
            {
                foreach (ChunkShare? share in shares)
                {
                    if (share is not null)
                    {
                        Interlocked.Decrement(ref share.Holders);
                    }
                }
            }

            _groups[g] = null;
        }

        AllocatedBytes = 0;
    }

    /// <summary>The indexes of the chunks allocated so far, ascending.</summary>
    public IEnumerable<long> EnumerateAllocatedChunks()
    {
        for (int g = 0; g < _groups.Length; g++)
        {
            ChunkGroup? group = _groups[g];
            if (group is null)
            {
                continue;
            }

            for (int slot = 0; slot < group.Chunks.Length; slot++)
            {
                if (group.Chunks[slot] is not null)
                {
                    yield return ((long)g << GroupShift) + slot;
                }
            }
        }
    }

    /// <summary>The bytes of an allocated chunk, or null when the chunk was never written.</summary>
    public byte[]? PeekChunk(long chunkIndex) => _groups[chunkIndex >> GroupShift]?.Chunks[(int)(chunkIndex & (ChunksPerGroup - 1))];

    /// <summary>
    /// The bytes of a chunk for writing, allocating it or copying it when shared (the caller drops translations to the
    /// shared zero page or the old chunk).
    /// </summary>
    public byte[] EnsureChunk(long chunkIndex)
    {
        EnsureWritablePage(chunkIndex * PagesPerChunk, out _);
        return PeekChunk(chunkIndex)!;
    }

    public long FirstPageOfChunk(long pageIndex) => pageIndex / PagesPerChunk * PagesPerChunk;

    public bool IsCode(long pageIndex) => _codePages.Get(pageIndex);

    public bool SetCode(long pageIndex, bool isCode)
    {
        bool changed = isCode ? _codePages.Set(pageIndex) : _codePages.Clear(pageIndex);
        if (changed)
        {
            CodePageCount += isCode ? 1 : -1;
        }

        return changed;
    }

    public DirtyPageBitmap TakeDirty()
    {
        return Dirty.CloneAndClear();
    }

    internal static unsafe nint AddressOf(byte[] pinned) => (nint)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(pinned));

    /// <summary>
    /// The chunks of one group and their host pointers (zero for a chunk not yet allocated); the last group of a
    /// region smaller than a group's span holds only the chunks the region has.
    /// </summary>
    private sealed class ChunkGroup(int chunkCount)
    {
        public byte[]?[] Chunks { get; } = new byte[chunkCount][];

        public nint[] Pointers { get; } = new nint[chunkCount];

        /// <summary>Per chunk, its sharing record while it may be shared; null until the group's first fork.</summary>
        public ChunkShare?[]? Shares { get; set; }
    }

    /// <summary>The holders of one shared chunk (a class: every backing that shares the chunk points to the same record).</summary>
    private sealed class ChunkShare
    {
        /// <summary>How many backings refer to the chunk; starts at one (the backing that shared it first).</summary>
        public int Holders = 1;
    }
}
