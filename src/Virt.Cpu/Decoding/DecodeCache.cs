using System.Runtime.CompilerServices;
using Virt.Memory;

namespace Virt.Cpu.Decoding;

/// <summary>
/// The decode cache: decoded blocks keyed by A20-applied physical address and decoding mode, found through a direct-mapped
/// lookup array in front of a dictionary, indexed by physical page for invalidation on code writes and remapping, and
/// bounded by a byte budget (<see cref="CpuOptions.DecodeCacheBudgetInBytes"/>): when a new block would exceed it, every
/// block is evicted. It marks the pages it holds code from in the memory map, which then reports writes to them.
/// </summary>
/// <remarks>
/// An invalidated block is marked <see cref="DecodedBlock.Valid"/> = false and unlinked; a caller running it checks that
/// flag (self-modifying code finishes the current instruction, then fetches again from the new bytes).
/// </remarks>
internal sealed class DecodeCache
{
    /// <summary>The key bit for blocks decoded as 32-bit code.</summary>
    public const ulong CodeSize32Key = 1UL << 63;

    /// <summary>The key bit for blocks decoded as 64-bit code (the same bytes decode differently in each size).</summary>
    public const ulong CodeSize64Key = 1UL << 62;

    /// <summary>All code-size key bits.</summary>
    public const ulong CodeSizeKeyMask = CodeSize32Key | CodeSize64Key;

    private const int LookupEntries = 4096;
    private const int PageShift = 12;

    // The byte estimate of the decode cache (see EstimateBlockBytes). Object sizes are those of the 64-bit runtime: an
    // object header plus method-table pointer (16 bytes), and for an array also its length (padded to 8).
    private const int ObjectHeaderBytes = 16;
    private const int ArrayHeaderBytes = 24;
    private const int ReferenceBytes = 8;

    /// <summary>A <see cref="DecodedBlock"/> object: header, eleven 8-byte fields (references included), five 4-byte fields and two flags, padded to 8 bytes.</summary>
    private const int BlockObjectBytes = ObjectHeaderBytes + (11 * 8) + (5 * 4) + 4;

    /// <summary>
    /// One <see cref="_blocks"/> entry: hash code, next index, key and value (24 bytes) plus its bucket (4 bytes), doubled
    /// because a dictionary grows by doubling and never shrinks on Clear.
    /// </summary>
    private const int BlockDictionaryEntryBytes = 2 * (24 + 4);

    /// <summary>One reference to the block in a page's list, doubled for the list's growth slack.</summary>
    private const int PageListSlotBytes = 2 * ReferenceBytes;

    /// <summary>
    /// A <see cref="_blocksByPage"/> page: its dictionary entry and bucket (doubled as above), the list object (header,
    /// items, size, version) and the list's first array of four references.
    /// </summary>
    private const int PageEntryBytes = (2 * (24 + 4)) + (ObjectHeaderBytes + ReferenceBytes + 8) + (ArrayHeaderBytes + (4 * ReferenceBytes));

    private readonly DecodedBlock?[] _blockLookup = new DecodedBlock?[LookupEntries];
    private readonly Dictionary<ulong, DecodedBlock> _blocks = [];
    private readonly Dictionary<ulong, List<DecodedBlock>> _blocksByPage = [];
    private readonly List<DecodedBlock> _invalidationScratch = [];
    private readonly PhysicalMemoryMap _memory;
    private readonly long _budgetInBytes;
    private long _bytes;
    private long _evictions;

    /// <summary>Creates an empty cache.</summary>
    /// <param name="memory">The memory map whose code pages the cache marks.</param>
    /// <param name="budgetInBytes">The byte budget.</param>
    public DecodeCache(PhysicalMemoryMap memory, long budgetInBytes)
    {
        _memory = memory;
        _budgetInBytes = budgetInBytes;
    }

    /// <summary>
    /// Told of every block dropped one by one (a code write, a remapping) while it had a compiled form, before the form is
    /// cleared; not of the blocks <see cref="Clear"/> drops. The compiled tier backs off from code that keeps changing.
    /// </summary>
    public Action<DecodedBlock>? CompiledBlockInvalidated { get; set; }

    /// <summary>The estimated host memory held, in bytes (see <see cref="EstimateBlockBytes"/>).</summary>
    public long SizeInBytes => _bytes;

    /// <summary>How many times the cache was emptied to stay within its budget.</summary>
    public long Evictions => _evictions;

    /// <summary>The number of cached blocks.</summary>
    public int Count => _blocks.Count;

    /// <summary>The estimate of <see cref="SizeInBytes"/> for one block of <paramref name="count"/> instructions, without its pages' lists.</summary>
    public static long EstimateBlockBytes(int count, bool spansPages) =>
        BlockObjectBytes + ArrayHeaderBytes + ((long)count * Unsafe.SizeOf<DecodedInstruction>()) + BlockDictionaryEntryBytes
        + (spansPages ? 2 * PageListSlotBytes : PageListSlotBytes);

    /// <summary>The lookup-array slot of a block whose first byte is at <paramref name="physical"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int SlotOf(ulong physical) => (int)((physical ^ (physical >> 11)) & (LookupEntries - 1));

    /// <summary>The valid cached block with <paramref name="key"/>, through the lookup slot, then the dictionary (which refills the slot); or null.</summary>
    public DecodedBlock? Find(int slot, ulong key)
    {
        DecodedBlock? block = _blockLookup[slot];
        if (block is not null && block.Key == key && block.Valid)
        {
            return block;
        }

        if (_blocks.TryGetValue(key, out block))
        {
            _blockLookup[slot] = block;
            return block;
        }

        return null;
    }

    /// <summary>Makes <paramref name="block"/> the first candidate of its lookup slot.</summary>
    public void Remember(int slot, DecodedBlock block) => _blockLookup[slot] = block;

    /// <summary>
    /// Caches a freshly decoded block. When it would take the cache over its budget, every cached block is evicted first:
    /// the cost is proportional to the blocks decoded since the last eviction, so O(1) per decode amortized, and nothing on
    /// the execution path pays for it. Evicted blocks are marked invalid, so no successor link, lookup slot or
    /// running loop can run them again.
    /// </summary>
    /// <returns>True when every block was evicted first.</returns>
    public bool Add(DecodedBlock block)
    {
        long size = EstimateBlockBytes(block.Count, block.SpansPages);
        bool evicted = false;

        // Up to two pages may need a new list: reserve room for both so the budget holds after the insertion.
        if (_bytes + size + (2 * PageEntryBytes) > _budgetInBytes && _blocks.Count > 0)
        {
            Clear();
            _evictions++;
            evicted = true;
        }

        block.Valid = true;
        _blocks.Add(block.Key, block);
        _bytes += size;
        AddToPage(block, block.Page0);
        if (block.SpansPages && block.Page1 != block.Page0)
        {
            AddToPage(block, block.Page1);
        }

        return evicted;
    }

    /// <summary>Drops every block with bytes in physical pages <paramref name="firstPage"/> to <paramref name="lastPage"/>.</summary>
    public void InvalidatePhysicalPages(ulong firstPage, ulong lastPage)
    {
        if (lastPage - firstPage >= (ulong)_blocksByPage.Count)
        {
            _invalidationScratch.Clear();
            foreach (KeyValuePair<ulong, List<DecodedBlock>> pair in _blocksByPage)
            {
                if (pair.Key >= firstPage && pair.Key <= lastPage)
                {
                    _invalidationScratch.AddRange(pair.Value);
                }
            }

            foreach (DecodedBlock block in _invalidationScratch)
            {
                Invalidate(block);
            }

            _invalidationScratch.Clear();
        }
        else
        {
            for (ulong page = firstPage; page <= lastPage; page++)
            {
                InvalidateCodeInPhysicalPage(page, 0, ulong.MaxValue);
            }
        }
    }

    /// <summary>Drops the blocks whose bytes a write of <paramref name="sizeInBytes"/> at <paramref name="address"/> changed.</summary>
    public void InvalidateCodeWrite(PhysicalAddress address, int sizeInBytes)
    {
        ulong start = address.Value;
        ulong end = start + (ulong)sizeInBytes;
        InvalidateCodeInPhysicalPage(start >> PageShift, start, end);
        if (((end - 1) >> PageShift) != (start >> PageShift))
        {
            InvalidateCodeInPhysicalPage((end - 1) >> PageShift, start, end);
        }
    }

    /// <summary>
    /// Drops the blocks of one physical page whose bytes overlap [<paramref name="start"/>, <paramref name="end"/>), and every
    /// block of the page that crosses into another page.
    /// </summary>
    public void InvalidateCodeInPhysicalPage(ulong page, ulong start, ulong end)
    {
        if (!_blocksByPage.TryGetValue(page, out List<DecodedBlock>? list))
        {
            return;
        }

        _invalidationScratch.Clear();
        foreach (DecodedBlock block in list)
        {
            if (block.SpansPages || (start < block.PhysicalEnd && end > block.PhysicalStart))
            {
                _invalidationScratch.Add(block);
            }
        }

        foreach (DecodedBlock block in _invalidationScratch)
        {
            Invalidate(block);
        }

        _invalidationScratch.Clear();
    }

    public void Invalidate(DecodedBlock block)
    {
        if (!block.Valid)
        {
            return;
        }

        block.Valid = false;
        if (block.CompiledEntry is not null)
        {
            CompiledBlockInvalidated?.Invoke(block);
        }

        // An invalid block is never run or followed again; dropping its links keeps it from holding other blocks alive.
        block.Successor0 = null;
        block.Successor1 = null;
        block.CompiledEntry = null;
        _blocks.Remove(block.Key);
        _bytes -= EstimateBlockBytes(block.Count, block.SpansPages);
        RemoveFromPage(block, block.Page0);
        if (block.SpansPages && block.Page1 != block.Page0)
        {
            RemoveFromPage(block, block.Page1);
        }
    }

    /// <summary>Drops every block (a flush, a snapshot restore, or an eviction when the budget would be exceeded).</summary>
    public void Clear()
    {
        foreach (DecodedBlock block in _blocks.Values)
        {
            block.Valid = false;
            block.Successor0 = null;
            block.Successor1 = null;
            block.CompiledEntry = null;
        }

        _blocks.Clear();
        foreach (ulong page in _blocksByPage.Keys)
        {
            _memory.UnmarkCodePage(new PhysicalAddress(page << PageShift));
        }

        _blocksByPage.Clear();
        Array.Clear(_blockLookup);
        _bytes = 0;
    }

    private void AddToPage(DecodedBlock block, ulong page)
    {
        if (!_blocksByPage.TryGetValue(page, out List<DecodedBlock>? list))
        {
            list = [];
            _blocksByPage.Add(page, list);
            _bytes += PageEntryBytes;
            _memory.MarkCodePage(new PhysicalAddress(page << PageShift));
        }

        list.Add(block);
    }

    private void RemoveFromPage(DecodedBlock block, ulong page)
    {
        if (_blocksByPage.TryGetValue(page, out List<DecodedBlock>? list))
        {
            list.Remove(block);
            if (list.Count == 0)
            {
                _blocksByPage.Remove(page);
                _bytes -= PageEntryBytes;
                _memory.UnmarkCodePage(new PhysicalAddress(page << PageShift));
            }
        }
    }
}
