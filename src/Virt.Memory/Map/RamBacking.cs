using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Virt.Memory;

/// <summary>
/// The bytes behind a RAM region (or the shadow RAM of a shadowable ROM), allocated lazily in
/// chunks of <see cref="PhysicalMemoryMap.RamChunkSizeInBytes"/>. Chunks are pinned arrays so host
/// pointers into them stay valid for the life of the map without unmanaged frees.
/// </summary>
internal sealed class RamBacking
{
    private const int PagesPerChunk = PhysicalMemoryMap.RamChunkSizeInBytes >> PhysicalMemoryMap.PageShift;

    private readonly byte[]?[] _chunks;
    private readonly nint[] _chunkPointers;
    private readonly bool[] _codePages;

    public RamBacking(ulong sizeInBytes)
    {
        SizeInBytes = sizeInBytes;
        PageCount = (long)(sizeInBytes >> PhysicalMemoryMap.PageShift);
        long chunkCount = (PageCount + PagesPerChunk - 1) / PagesPerChunk;
        _chunks = new byte[chunkCount][];
        _chunkPointers = new nint[chunkCount];
        _codePages = new bool[PageCount];
        Dirty = new DirtyPageBitmap(PageCount);
    }

    public ulong SizeInBytes { get; }

    public long PageCount { get; }

    public DirtyPageBitmap Dirty { get; private set; }

    public List<MemoryRegion> Mappers { get; } = [];

    public long AllocatedBytes { get; private set; }

    public int CodePageCount { get; private set; }

    /// <summary>The host pointer of a page, or zero when its chunk was never written.</summary>
    public nint PeekPage(long pageIndex)
    {
        nint chunk = _chunkPointers[pageIndex / PagesPerChunk];
        return chunk == 0 ? 0 : chunk + (nint)((pageIndex % PagesPerChunk) << PhysicalMemoryMap.PageShift);
    }

    /// <summary>The host pointer of a page, allocating its chunk; <paramref name="allocated"/> tells whether this call did.</summary>
    public nint EnsurePage(long pageIndex, out bool allocated)
    {
        long chunkIndex = pageIndex / PagesPerChunk;
        allocated = false;
        if (_chunkPointers[chunkIndex] == 0)
        {
            byte[] chunk = GC.AllocateArray<byte>(PhysicalMemoryMap.RamChunkSizeInBytes, pinned: true);
            _chunks[chunkIndex] = chunk;
            _chunkPointers[chunkIndex] = AddressOf(chunk);
            AllocatedBytes += chunk.Length;
            allocated = true;
        }

        return _chunkPointers[chunkIndex] + (nint)((pageIndex % PagesPerChunk) << PhysicalMemoryMap.PageShift);
    }

    public long FirstPageOfChunk(long pageIndex) => pageIndex / PagesPerChunk * PagesPerChunk;

    public static int PagesInChunk => PagesPerChunk;

    public bool IsCode(long pageIndex) => _codePages[pageIndex];

    public bool SetCode(long pageIndex, bool isCode)
    {
        bool was = _codePages[pageIndex];
        if (was != isCode)
        {
            _codePages[pageIndex] = isCode;
            CodePageCount += isCode ? 1 : -1;
        }

        return was != isCode;
    }

    public DirtyPageBitmap TakeDirty()
    {
        return Dirty.CloneAndClear();
    }

    internal static unsafe nint AddressOf(byte[] pinned) => (nint)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(pinned));
}
