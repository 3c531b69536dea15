using System.Numerics;

namespace Virt.Memory;

/// <summary>
/// One bit per page of a RAM backing, stored in blocks of <see cref="PagesPerBlock"/> pages that are allocated
/// when a bit in them is first set. A 1 TiB region (256 Mi pages) costs a 32 KiB block directory until the guest
/// touches it; a flat bit array would cost 32 MiB (dirty bits) or 256 MiB (one bool per page, as code marks were).
/// </summary>
internal sealed class SparsePageBits
{
    /// <summary>Log2 of the pages per block: 64 Ki pages (256 MiB of guest RAM) in 1,024 words (8 KiB).</summary>
    public const int BlockShift = 16;

    /// <summary>The pages one block covers.</summary>
    public const int PagesPerBlock = 1 << BlockShift;

    private const int WordsPerBlock = PagesPerBlock / 64;

    private ulong[]?[] _blocks;

    public SparsePageBits(long pageCount)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(pageCount);
        PageCount = pageCount;
        _blocks = new ulong[(pageCount + PagesPerBlock - 1) >> BlockShift][];
    }

    private SparsePageBits(long pageCount, ulong[]?[] blocks)
    {
        PageCount = pageCount;
        _blocks = blocks;
    }

    public long PageCount { get; }

    /// <summary>The number of blocks allocated so far (for tests of the memory cost).</summary>
    public int AllocatedBlockCount => _blocks.Count(b => b is not null);

    public long CountSet()
    {
        long count = 0;
        foreach (ulong[]? block in _blocks)
        {
            if (block is null)
            {
                continue;
            }

            foreach (ulong w in block)
            {
                count += BitOperations.PopCount(w);
            }
        }

        return count;
    }

    public bool Get(long page)
    {
        ulong[]? block = _blocks[page >> BlockShift];
        return block is not null && (block[(int)(page & (PagesPerBlock - 1)) >> 6] & (1UL << (int)(page & 63))) != 0;
    }

    /// <summary>Sets the bit of <paramref name="page"/>; returns whether it was clear.</summary>
    public bool Set(long page)
    {
        ulong[] block = _blocks[page >> BlockShift] ??= new ulong[WordsInBlock(page >> BlockShift)];
        ref ulong word = ref block[(int)(page & (PagesPerBlock - 1)) >> 6];
        ulong bit = 1UL << (int)(page & 63);
        bool wasClear = (word & bit) == 0;
        word |= bit;
        return wasClear;
    }

    /// <summary>Clears the bit of <paramref name="page"/> (never allocates); returns whether it was set.</summary>
    public bool Clear(long page)
    {
        ulong[]? block = _blocks[page >> BlockShift];
        if (block is null)
        {
            return false;
        }

        ref ulong word = ref block[(int)(page & (PagesPerBlock - 1)) >> 6];
        ulong bit = 1UL << (int)(page & 63);
        bool wasSet = (word & bit) != 0;
        word &= ~bit;
        return wasSet;
    }

    /// <summary>The words block <paramref name="blockIndex"/> needs: a full block, or fewer for the last block of a small region.</summary>
    private int WordsInBlock(long blockIndex) => (int)Math.Min(WordsPerBlock, (PageCount - (blockIndex << BlockShift) + 63) >> 6);

    public IEnumerable<long> EnumerateSet()
    {
        for (int b = 0; b < _blocks.Length; b++)
        {
            ulong[]? block = _blocks[b];
            if (block is null)
            {
                continue;
            }

            for (int i = 0; i < block.Length; i++)
            {
                ulong w = block[i];
                while (w != 0)
                {
                    int bit = BitOperations.TrailingZeroCount(w);
                    yield return ((long)b << BlockShift) + ((long)i << 6) + bit;
                    w &= w - 1;
                }
            }
        }
    }

    /// <summary>Moves every bit into a new instance and leaves this one clear, without copying any block.</summary>
    public SparsePageBits TakeAll()
    {
        var taken = new SparsePageBits(PageCount, _blocks);
        _blocks = new ulong[_blocks.Length][];
        return taken;
    }
}
