using System.Numerics;

namespace Virt.Memory;

/// <summary>One bit per 4 KiB page of a RAM region: set when the guest (or DMA) wrote the page since the last clear.</summary>
public sealed class DirtyPageBitmap
{
    private readonly ulong[] _words;

    /// <summary>Creates a clean bitmap for <paramref name="pageCount"/> pages.</summary>
    /// <param name="pageCount">The number of pages tracked.</param>
    public DirtyPageBitmap(long pageCount)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(pageCount);
        PageCount = pageCount;
        _words = new ulong[(pageCount + 63) / 64];
    }

    /// <summary>The number of pages tracked.</summary>
    public long PageCount { get; }

    /// <summary>The number of dirty pages.</summary>
    public long DirtyCount
    {
        get
        {
            long count = 0;
            foreach (ulong w in _words)
            {
                count += BitOperations.PopCount(w);
            }

            return count;
        }
    }

    /// <summary>Whether the page at <paramref name="pageIndex"/> (from the start of the region) is dirty.</summary>
    /// <param name="pageIndex">The page index within the region.</param>
    /// <returns>True when dirty.</returns>
    public bool IsDirty(long pageIndex)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(pageIndex);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(pageIndex, PageCount);
        return (_words[pageIndex >> 6] & (1UL << (int)(pageIndex & 63))) != 0;
    }

    /// <summary>Enumerates the indexes of the dirty pages in ascending order.</summary>
    /// <returns>The page indexes.</returns>
    public IEnumerable<long> EnumerateDirtyPages()
    {
        for (int i = 0; i < _words.Length; i++)
        {
            ulong w = _words[i];
            while (w != 0)
            {
                int bit = BitOperations.TrailingZeroCount(w);
                yield return ((long)i << 6) + bit;
                w &= w - 1;
            }
        }
    }

    internal void Set(long pageIndex) => _words[pageIndex >> 6] |= 1UL << (int)(pageIndex & 63);

    internal DirtyPageBitmap CloneAndClear()
    {
        var copy = new DirtyPageBitmap(PageCount);
        Array.Copy(_words, copy._words, _words.Length);
        Array.Clear(_words);
        return copy;
    }
}
