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

    /// <summary>The bytes of a chunk, allocating it (the caller drops translations to the shared zero page).</summary>
    public byte[] EnsureChunk(long chunkIndex)
    {
        EnsurePage(chunkIndex * PagesPerChunk, out _);
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
    }
}
