using System.Numerics;
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
/// chunk carries a <see cref="ChunkShare"/> counting its holders; a holder that writes a page of it while others still
/// hold it copies that page into the chunk's own pages (<see cref="EnsureWritablePage"/>), and lets go of the chunk once
/// all 16 pages are copied; the last holder takes the chunk back and writes it in place. The holders may run on
/// different threads: the count is changed with interlocked operations, and a holder copies before it lets go, so a
/// shared chunk never changes while another holder still reads it.
/// </para>
/// </remarks>
internal sealed class RamBacking
{
    /// <summary>Chunks per group: 1,024 chunks of 64 KiB, so a group covers 64 MiB and costs 16 KiB of index.</summary>
    public const int ChunksPerGroup = 1 << GroupShift;

    private const int GroupShift = 10;
    private const int PagesPerChunk = PhysicalMemoryMap.RamChunkSizeInBytes >> PhysicalMemoryMap.PageShift;

    /// <summary>The page mask of a chunk whose 16 pages were all copied.</summary>
    private const ushort FullMask = (1 << PagesPerChunk) - 1;

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

    /// <summary>The pages this backing copied because another backing shared their chunk (copy-on-write).</summary>
    public long CopiedOnWritePageCount { get; private set; }

    /// <summary>The number of pages this backing shares with other backings now (in shared chunks, not yet copied).</summary>
    public long SharedPageCount
    {
        get
        {
            long count = 0;
            foreach (ChunkGroup? group in _groups)
            {
                if (group?.Shares is not { } shares)
                {
                    continue;
                }

                for (int slot = 0; slot < shares.Length; slot++)
                {
                    if (shares[slot] is { } share && Volatile.Read(ref share.Holders) > 1)
                    {
                        count += PagesPerChunk - BitOperations.PopCount((uint)(group.Own?[slot]?.Mask ?? 0));
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

        int slot = (int)(chunkIndex & (ChunksPerGroup - 1));
        nint chunk = group.Pointers[slot];
        int inChunk = (int)(pageIndex % PagesPerChunk);
        if (chunk == 0)
        {
            return 0;
        }

        // A page copied out of a shared chunk lives in the chunk's own pages; Own is null until the group's first copy.
        return group.Own?[slot] is { } own && (own.Mask & (1 << inChunk)) != 0
            ? own.Pointer + (nint)(inChunk << PhysicalMemoryMap.PageShift)
            : chunk + (nint)(inChunk << PhysicalMemoryMap.PageShift);
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
    /// Whether the page lies in a chunk shared with another backing and was not copied yet, so it must not be written in
    /// place (nor a write pointer to it handed out) before <see cref="EnsureWritablePage"/>.
    /// </summary>
    public bool IsShared(long pageIndex)
    {
        long chunkIndex = pageIndex / PagesPerChunk;
        ChunkGroup? group = _groups[chunkIndex >> GroupShift];
        int slot = (int)(chunkIndex & (ChunksPerGroup - 1));
        return group?.Shares?[slot] is not null
            && !(group.Own?[slot] is { } own && (own.Mask & (1 << (int)(pageIndex % PagesPerChunk))) != 0);
    }

    /// <summary>
    /// The host pointer of a page that this backing alone holds, so it may be written: allocates its chunk, or copies the
    /// page out of a chunk shared with another backing (into the chunk's own pages; the last holder of a shared chunk
    /// takes it back whole). <paramref name="moved"/> tells whose host address changed: the caller then drops the
    /// translations of that page or of the whole chunk. A copy keeps the bytes, so decoded code stays valid.
    /// </summary>
    public nint EnsureWritablePage(long pageIndex, out PageMove moved)
    {
        EnsurePage(pageIndex, out bool allocated);
        moved = allocated ? PageMove.Chunk : PageMove.None;
        long chunkIndex = pageIndex / PagesPerChunk;
        ChunkGroup group = _groups[chunkIndex >> GroupShift]!;
        int slot = (int)(chunkIndex & (ChunksPerGroup - 1));
        int inChunk = (int)(pageIndex % PagesPerChunk);
        int offset = inChunk << PhysicalMemoryMap.PageShift;
        if (group.Shares?[slot] is not { } share)
        {
            return group.Pointers[slot] + offset;
        }

        OwnPages? own = group.Own?[slot];
        if (own is not null && (own.Mask & (1 << inChunk)) != 0)
        {
            return own.Pointer + offset;
        }

        if (Volatile.Read(ref share.Holders) == 1)
        {
            // Every other holder copied what it needed or let go: the chunk is ours now. Pages copied before go back into it.
            group.Shares[slot] = null;
            if (own is not null)
            {
                FoldBack(group, slot, own);
                moved = PageMove.Chunk;
            }

            return group.Pointers[slot] + offset;
        }

        if (own is null)
        {
            // Uninitialized: only pages copied into it are ever read (the mask says which).
            byte[] bytes = GC.AllocateUninitializedArray<byte>(PhysicalMemoryMap.RamChunkSizeInBytes, pinned: true);
            own = new OwnPages(bytes);
            (group.Own ??= new OwnPages?[group.Chunks.Length])[slot] = own;
            AllocatedBytes += bytes.Length;
        }

        group.Chunks[slot]!.AsSpan(offset, PhysicalMemoryMap.PageSizeInBytes).CopyTo(own.Bytes.AsSpan(offset));
        own.Mask |= (ushort)(1 << inChunk);
        CopiedOnWritePageCount++;
        if (moved == PageMove.None)
        {
            moved = PageMove.Page;
        }

        if (own.Mask == FullMask)
        {
            // Every page copied: the own pages are the chunk now, at the addresses the copies already had.
            AdoptOwnPages(group, slot, own, share);
        }

        return own.Pointer + offset;
    }

    /// <summary>
    /// Makes a chunk readable as one array: a chunk some of whose pages were copied out of a share becomes this backing's
    /// own (copying the rest); a shared chunk with no page copied already is one array and stays shared. Returns whether
    /// host addresses of its pages changed.
    /// </summary>
    public bool MakeChunkContiguous(long chunkIndex)
    {
        ChunkGroup? group = _groups[chunkIndex >> GroupShift];
        return group?.Own?[(int)(chunkIndex & (ChunksPerGroup - 1))] is not null && MakeChunkExclusive(chunkIndex);
    }

    /// <summary>
    /// Makes a chunk this backing's alone and contiguous (copying what is still shared), so it can be read or written as
    /// one array; returns whether host addresses of its pages changed (the caller drops the chunk's translations).
    /// </summary>
    public bool MakeChunkExclusive(long chunkIndex)
    {
        ChunkGroup? group = _groups[chunkIndex >> GroupShift];
        int slot = (int)(chunkIndex & (ChunksPerGroup - 1));
        if (group?.Shares?[slot] is not { } share)
        {
            return false;
        }

        OwnPages? own = group.Own?[slot];
        if (Volatile.Read(ref share.Holders) == 1)
        {
            group.Shares[slot] = null;
            if (own is null)
            {
                return false;
            }

            FoldBack(group, slot, own);
            return true;
        }

        if (own is null)
        {
            byte[] bytes = GC.AllocateUninitializedArray<byte>(PhysicalMemoryMap.RamChunkSizeInBytes, pinned: true);
            own = new OwnPages(bytes);
            (group.Own ??= new OwnPages?[group.Chunks.Length])[slot] = own;
            AllocatedBytes += bytes.Length;
        }

        for (int page = 0; page < PagesPerChunk; page++)
        {
            if ((own.Mask & (1 << page)) == 0)
            {
                int offset = page << PhysicalMemoryMap.PageShift;
                group.Chunks[slot]!.AsSpan(offset, PhysicalMemoryMap.PageSizeInBytes).CopyTo(own.Bytes.AsSpan(offset));
                CopiedOnWritePageCount++;
            }
        }

        own.Mask = FullMask;
        AdoptOwnPages(group, slot, own, share);
        return true;
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

            // A chunk partly copied out of an earlier share is not one array: make it this backing's own first.
            if (group.Own is { } owns)
            {
                for (int slot = 0; slot < owns.Length; slot++)
                {
                    if (owns[slot] is not null)
                    {
                        MakeChunkExclusive(((long)g << GroupShift) + slot);
                    }
                }
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
    /// The bytes of a chunk for writing as a whole, allocating it or making it this backing's own when shared (the caller
    /// drops the chunk's translations: to the shared zero page, or to pages that moved).
    /// </summary>
    public byte[] EnsureChunk(long chunkIndex)
    {
        EnsurePage(chunkIndex * PagesPerChunk, out _);
        MakeChunkExclusive(chunkIndex);
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

    /// <summary>The last holder of a shared chunk takes it back: the pages it had copied return into it.</summary>
    private void FoldBack(ChunkGroup group, int slot, OwnPages own)
    {
        byte[] chunk = group.Chunks[slot]!;
        for (int page = 0; page < PagesPerChunk; page++)
        {
            if ((own.Mask & (1 << page)) != 0)
            {
                int offset = page << PhysicalMemoryMap.PageShift;
                own.Bytes.AsSpan(offset, PhysicalMemoryMap.PageSizeInBytes).CopyTo(chunk.AsSpan(offset));
            }
        }

        group.Own![slot] = null;
        AllocatedBytes -= own.Bytes.Length;
    }

    /// <summary>Every page of a shared chunk was copied: the copies become the chunk and this backing lets go of the shared one.</summary>
    private void AdoptOwnPages(ChunkGroup group, int slot, OwnPages own, ChunkShare share)
    {
        AllocatedBytes -= group.Chunks[slot]!.Length;
        group.Chunks[slot] = own.Bytes;
        group.Pointers[slot] = own.Pointer;
        group.Own![slot] = null;
        group.Shares![slot] = null;

        // Only after every copy: a holder that then finds itself the last one writes the old chunk in place.
        Interlocked.Decrement(ref share.Holders);
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

        /// <summary>Per shared chunk, the pages copied out of it so far; null until the group's first copy.</summary>
        public OwnPages?[]? Own { get; set; }
    }

    /// <summary>The pages of a shared chunk copied so far, in an array laid out as the chunk; once all are, it becomes the chunk.</summary>
    private sealed class OwnPages(byte[] bytes)
    {
        public byte[] Bytes { get; } = bytes;

        public nint Pointer { get; } = AddressOf(bytes);

        /// <summary>Bit n: page n of the chunk was copied here.</summary>
        public ushort Mask { get; set; }
    }

    /// <summary>The holders of one shared chunk (a class: every backing that shares the chunk points to the same record).</summary>
    private sealed class ChunkShare
    {
        /// <summary>How many backings refer to the chunk; starts at one (the backing that shared it first).</summary>
        public int Holders = 1;
    }
}
