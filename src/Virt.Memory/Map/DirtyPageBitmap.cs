namespace Virt.Memory;

/// <summary>
/// One bit per 4 KiB page of a RAM region: set when the guest (or DMA) wrote the page since the last clear.
/// The bits are kept in blocks allocated on the first write within them, so an untouched terabyte costs
/// kilobytes, not megabytes.
/// </summary>
public sealed class DirtyPageBitmap
{
    private readonly SparsePageBits _bits;

    /// <summary>Creates a clean bitmap for <paramref name="pageCount"/> pages.</summary>
    /// <param name="pageCount">The number of pages tracked.</param>
    public DirtyPageBitmap(long pageCount)
    {
        _bits = new SparsePageBits(pageCount);
    }

    private DirtyPageBitmap(SparsePageBits bits)
    {
        _bits = bits;
    }

    /// <summary>The number of pages tracked.</summary>
    public long PageCount => _bits.PageCount;

    /// <summary>The number of dirty pages.</summary>
    public long DirtyCount => _bits.CountSet();

    /// <summary>The number of bit blocks allocated (each covers <see cref="SparsePageBits.PagesPerBlock"/> pages).</summary>
    internal int AllocatedBlockCount => _bits.AllocatedBlockCount;

    /// <summary>Whether the page at <paramref name="pageIndex"/> (from the start of the region) is dirty.</summary>
    /// <param name="pageIndex">The page index within the region.</param>
    /// <returns>True when dirty.</returns>
    public bool IsDirty(long pageIndex)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(pageIndex);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(pageIndex, PageCount);
        return _bits.Get(pageIndex);
    }

    /// <summary>Enumerates the indexes of the dirty pages in ascending order.</summary>
    /// <returns>The page indexes.</returns>
    public IEnumerable<long> EnumerateDirtyPages() => _bits.EnumerateSet();

    internal bool IsDirtyUnchecked(long pageIndex) => _bits.Get(pageIndex);

    internal void Set(long pageIndex) => _bits.Set(pageIndex);

    /// <summary>Hands the bits to a new bitmap and leaves this one clean (no block is copied).</summary>
    internal DirtyPageBitmap CloneAndClear() => new(_bits.TakeAll());
}
