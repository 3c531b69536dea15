using System.Runtime.CompilerServices;
using Iced.Intel;
using Virt.Cpu.Decoding;
using Virt.Memory;

namespace Virt.Cpu;

/// <summary>
/// The decode cache: blocks decoded once with Iced, keyed by physical address and mode, invalidated on code writes, and
/// bounded by <see cref="CpuOptions.DecodeCacheBudgetInBytes"/> (when a new block would exceed it, every block is evicted).
/// </summary>
public sealed partial class Cpu
{
    private const int MaxBlockInstructions = 64;
    private const int LookupEntries = 4096;
    private const ulong CodeSize32Key = 1UL << 63;

    // The byte estimate of the decode cache (see EstimateBlockBytes). Object sizes are those of the 64-bit runtime: an
    // object header plus method-table pointer (16 bytes), and for an array also its length (padded to 8).
    private const int ObjectHeaderBytes = 16;
    private const int ArrayHeaderBytes = 24;
    private const int ReferenceBytes = 8;

    /// <summary>A <see cref="DecodedBlock"/> object: header, ten 8-byte fields (references included), three 4-byte fields and two flags, padded to 8 bytes.</summary>
    private const int BlockObjectBytes = ObjectHeaderBytes + (10 * 8) + (3 * 4) + 4;

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

    private readonly GuestCodeReader _codeReader;
    private readonly Decoder _decoder16;
    private readonly Decoder _decoder32;
    private readonly DecodedBlock _scratchBlock;
    private readonly DecodedInstruction[] _decodeBuffer = new DecodedInstruction[MaxBlockInstructions];
    private readonly DecodedBlock?[] _blockLookup = new DecodedBlock?[LookupEntries];
    private readonly Dictionary<ulong, DecodedBlock> _blocks = [];
    private readonly Dictionary<ulong, List<DecodedBlock>> _blocksByPage = [];
    private readonly List<DecodedBlock> _invalidationScratch = [];
    private DecodedBlock? _currentBlock;
    private bool _lastDecodeUncacheable;
    private long _decodeCacheBytes;
    private long _decodeCacheEvictions;

    /// <summary>
    /// The estimated host memory held by the decode cache, in bytes: every cached block with its instruction array, its
    /// dictionary entry and page-list slots, and the per-page lists (the fixed 32 KiB lookup array is not counted). Never
    /// more than <see cref="CpuOptions.DecodeCacheBudgetInBytes"/>. For diagnostics.
    /// </summary>
    public long DecodeCacheSizeInBytes => _decodeCacheBytes;

    /// <summary>
    /// How many times the decode cache was emptied because a new block would have taken it over
    /// <see cref="CpuOptions.DecodeCacheBudgetInBytes"/> (since construction). For diagnostics: a count that keeps rising
    /// while a guest runs means its working set of code does not fit the budget.
    /// </summary>
    public long DecodeCacheEvictions => _decodeCacheEvictions;

    /// <summary>The number of decoded blocks currently cached (for tests and diagnostics).</summary>
    internal int CachedBlockCount => _blocks.Count;

    /// <summary>How many blocks were decoded since construction (for tests and diagnostics).</summary>
    internal long BlocksDecoded { get; private set; }

    /// <summary>The estimate of <see cref="DecodeCacheSizeInBytes"/> for one block of <paramref name="count"/> instructions, without its pages' lists.</summary>
    internal static long EstimateBlockBytes(int count, bool spansPages) =>
        BlockObjectBytes + ArrayHeaderBytes + ((long)count * Unsafe.SizeOf<DecodedInstruction>()) + BlockDictionaryEntryBytes
        + (spansPages ? 2 * PageListSlotBytes : PageListSlotBytes);

    /// <inheritdoc/>
    void IPhysicalMemoryObserver.OnTranslationsInvalidated(AddressRange range, bool contentChanged)
    {
        _mmu.Flush();
        if (!contentChanged)
        {
            return;
        }

        ulong firstPage = range.Start.Value >> PageShift;
        ulong lastPage = range.LastAddress.Value >> PageShift;
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
                InvalidateBlock(block);
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

    /// <inheritdoc/>
    void IPhysicalMemoryObserver.OnCodeWrite(PhysicalAddress address, int sizeInBytes)
    {
        ulong start = address.Value;
        ulong end = start + (ulong)sizeInBytes;
        InvalidateCodeInPhysicalPage(start >> PageShift, start, end);
        if (((end - 1) >> PageShift) != (start >> PageShift))
        {
            InvalidateCodeInPhysicalPage((end - 1) >> PageShift, start, end);
        }
    }

    private void InvalidateCodeInPhysicalPage(ulong page, ulong start, ulong end)
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
            InvalidateBlock(block);
        }

        _invalidationScratch.Clear();
    }

    private void InvalidateBlock(DecodedBlock block)
    {
        if (!block.Valid)
        {
            return;
        }

        block.Valid = false;

        // An invalid block is never run or followed again; dropping its links keeps it from holding other blocks alive.
        block.Successor0 = null;
        block.Successor1 = null;
        _blocks.Remove(block.Key);
        _decodeCacheBytes -= EstimateBlockBytes(block.Count, block.SpansPages);
        RemoveFromPage(block, block.Page0);
        if (block.SpansPages && block.Page1 != block.Page0)
        {
            RemoveFromPage(block, block.Page1);
        }

        if (ReferenceEquals(block, _currentBlock))
        {
            // Self-modifying code: finish the current instruction, then fetch again from the new bytes.
            _exitBlock = true;
        }
    }

    private void RemoveFromPage(DecodedBlock block, ulong page)
    {
        if (_blocksByPage.TryGetValue(page, out List<DecodedBlock>? list))
        {
            list.Remove(block);
            if (list.Count == 0)
            {
                _blocksByPage.Remove(page);
                _decodeCacheBytes -= PageEntryBytes;
                _memory.UnmarkCodePage(new PhysicalAddress(page << PageShift));
            }
        }
    }

    private void InvalidateAllBlocks()
    {
        foreach (DecodedBlock block in _blocks.Values)
        {
            block.Valid = false;
            block.Successor0 = null;
            block.Successor1 = null;
        }

        _blocks.Clear();
        foreach (ulong page in _blocksByPage.Keys)
        {
            _memory.UnmarkCodePage(new PhysicalAddress(page << PageShift));
        }

        _blocksByPage.Clear();
        Array.Clear(_blockLookup);
        _decodeCacheBytes = 0;
        _exitBlock = true;
    }

    /// <summary>
    /// Caches a freshly decoded block. When it would take the cache over its budget, every cached block is evicted first:
    /// the cost is proportional to the blocks decoded since the last eviction, so O(1) per decode amortized, and nothing on
    /// the execution path pays for it. Evicted blocks are marked invalid, so no successor link, lookup slot or
    /// <see cref="_currentBlock"/> can run them again.
    /// </summary>
    private void AddBlock(DecodedBlock block)
    {
        long size = EstimateBlockBytes(block.Count, block.SpansPages);

        // Up to two pages may need a new list: reserve room for both so the budget holds after the insertion.
        if (_decodeCacheBytes + size + (2 * PageEntryBytes) > _options.DecodeCacheBudgetInBytes && _blocks.Count > 0)
        {
            InvalidateAllBlocks();
            _decodeCacheEvictions++;
        }

        block.Valid = true;
        _blocks.Add(block.Key, block);
        _decodeCacheBytes += size;
        AddToPage(block, block.Page0);
        if (block.SpansPages && block.Page1 != block.Page0)
        {
            AddToPage(block, block.Page1);
        }
    }

    private void AddToPage(DecodedBlock block, ulong page)
    {
        if (!_blocksByPage.TryGetValue(page, out List<DecodedBlock>? list))
        {
            list = [];
            _blocksByPage.Add(page, list);
            _decodeCacheBytes += PageEntryBytes;
            _memory.MarkCodePage(new PhysicalAddress(page << PageShift));
        }

        list.Add(block);
    }

    /// <summary>The block starting at CS:EIP, from the cache or freshly decoded.</summary>
    private DecodedBlock FetchBlock()
    {
        ulong linear = (uint)(_ctx.SegBase[Cs] + _ctx.Eip);
        DecodedBlock? previous = _currentBlock;
        if (previous is not null && previous.Valid && !_options.DisableDecodeCache)
        {
            // Block chaining through the previous block's successor cache. The links are keyed by linear address, so they
            // hold only while the translations they were made under do: a TLB flush or INVLPG starts a new epoch.
            if (previous.LinkEpoch != _mmu.TranslationEpoch)
            {
                previous.Successor0 = null;
                previous.Successor1 = null;
                previous.LinkEpoch = _mmu.TranslationEpoch;
            }

            DecodedBlock? next = previous.Successor0;
            if (next is not null && previous.Successor0Linear == linear && next.Valid && (next.Key & CodeSize32Key) == (_ctx.Code32 ? CodeSize32Key : 0))
            {
                _currentBlock = next;
                return next;
            }

            next = previous.Successor1;
            if (next is not null && previous.Successor1Linear == linear && next.Valid && (next.Key & CodeSize32Key) == (_ctx.Code32 ? CodeSize32Key : 0))
            {
                _currentBlock = next;
                return next;
            }
        }

        return LookupAndLinkBlock(linear, previous);
    }

    /// <summary>
    /// The cold path of <see cref="FetchBlock"/>: the lookup (or decode) of the block at <paramref name="linear"/>, which then
    /// becomes a successor link of <paramref name="previous"/>. Out of line so that the chained path stays small.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private DecodedBlock LookupAndLinkBlock(ulong linear, DecodedBlock? previous)
    {
        DecodedBlock found = LookupBlock(linear);

        // previous.Valid is read again: the lookup may have evicted every block (see AddBlock). Uncached blocks are never linked.
        if (previous is not null && previous.Valid && found.Valid && !_options.DisableDecodeCache)
        {
            if (previous.Successor0 is null || !previous.Successor0.Valid)
            {
                previous.Successor0 = found;
                previous.Successor0Linear = linear;
            }
            else
            {
                previous.Successor1 = found;
                previous.Successor1Linear = linear;
            }
        }

        return found;
    }

    /// <summary>
    /// The block at <paramref name="linear"/> (= CS base + EIP) through the lookup array and the dictionary, decoded when
    /// missing. Not recursive: a cached block whose second page is no longer mapped where it was is decoded once more, and
    /// should even that block not match the mapping, the instruction runs from an uncached decode.
    /// </summary>
    private DecodedBlock LookupBlock(ulong linear)
    {
        ulong physical = _memory.ApplyA20(TranslateFetch(linear)).Value;
        if (_fetchFaultPending)
        {
            // The first byte cannot be fetched: run the #PF pseudo-instruction, uncached.
            _fetchFaultPending = false;
            _currentBlock = null;
            return _fetchFaultBlock;
        }

        if (_options.DisableDecodeCache)
        {
            return DecodeUncached(physical);
        }

        ulong key = physical | (_ctx.Code32 ? CodeSize32Key : 0);
        int slot = (int)((physical ^ (physical >> 11)) & (LookupEntries - 1));
        DecodedBlock? block = _blockLookup[slot];
        if (block is null || block.Key != key || !block.Valid)
        {
            if (!_blocks.TryGetValue(key, out block))
            {
                block = DecodeBlock(physical, key);
                if (!block.Valid)
                {
                    // A fetch fault, or an instruction that cannot be cached (see DecodeInto): nothing was cached.
                    return block;
                }
            }

            _blockLookup[slot] = block;
        }

        if (block.SpansPages && _mmu.PagingEnabled && !SecondPageStillMapped(block, linear))
        {
            // Under paging the second page of a block that crosses a page boundary may have been remapped: decode afresh.
            InvalidateBlock(block);
            block = DecodeBlock(physical, key);
            if (!block.Valid)
            {
                return block;
            }

            if (block.SpansPages && !SecondPageStillMapped(block, linear))
            {
                // A block decoded just now from this CS:EIP read its second page through the mapping the check uses, so this
                // cannot happen unless the decoder's own page walks changed the mapping. Never loop: run it uncached.
                InvalidateBlock(block);
                return DecodeUncached(physical);
            }

            _blockLookup[slot] = block;
        }

        _currentBlock = block;
        return block;
    }

    /// <summary>
    /// Decodes a block at CS:EIP (whose first byte is at <paramref name="physical"/>) and caches it; or returns the fetch-fault
    /// pseudo-block, or an uncached single-instruction block when the first instruction's bytes cannot be cached.
    /// </summary>
    private DecodedBlock DecodeBlock(ulong physical, ulong key)
    {
        int count = DecodeInto(null, physical, MaxBlockInstructions);
        if (_fetchFaultPending)
        {
            // The first instruction runs into a page that cannot be fetched: #PF, nothing cached.
            _fetchFaultPending = false;
            _currentBlock = null;
            return _fetchFaultBlock;
        }

        if (_lastDecodeUncacheable)
        {
            // The first instruction's bytes wrap around the top of the code segment's offset space (or are otherwise not one
            // run of at most two pages): its decode depends on CS:IP, not only on its physical address. Run it from a decode
            // that is not cached, so no cached block ever holds such bytes.
            _scratchBlock.Instructions[0] = _decodeBuffer[0];
            _scratchBlock.Count = 1;
            _scratchBlock.ByteLength = _lastDecodeByteLength;
            _currentBlock = _scratchBlock;
            return _scratchBlock;
        }

        var block = new DecodedBlock(count);
        Array.Copy(_decodeBuffer, block.Instructions, count);
        block.Count = count;
        block.ByteLength = _lastDecodeByteLength;
        block.Key = key;
        block.PhysicalStart = physical;
        block.PhysicalEnd = _codeReader.LastPhysical + 1;
        block.Page0 = _codeReader.FirstPage;
        block.Page1 = _codeReader.SecondPage;
        block.SpansPages = _codeReader.SpansPages;
        AddBlock(block);
        return block;
    }

    /// <summary>Decodes the one instruction at CS:EIP (first byte at <paramref name="physical"/>) into the scratch block, which is never cached.</summary>
    private DecodedBlock DecodeUncached(ulong physical)
    {
        DecodeInto(_scratchBlock, physical, maxInstructions: 1);
        if (_fetchFaultPending)
        {
            _fetchFaultPending = false;
            _currentBlock = null;
            return _fetchFaultBlock;
        }

        _currentBlock = _scratchBlock;
        return _scratchBlock;
    }

    /// <summary>Decodes the one instruction at CS:EIP without the cache (see <see cref="FitBlockToCodeSegment"/>).</summary>
    private DecodedBlock DecodeUncachedAtEip()
    {
        ulong physical = _memory.ApplyA20(TranslateFetch((uint)(_ctx.SegBase[Cs] + _ctx.Eip))).Value;
        if (_fetchFaultPending)
        {
            _fetchFaultPending = false;
            _currentBlock = null;
            return _fetchFaultBlock;
        }

        return DecodeUncached(physical);
    }

    /// <summary>Decodes up to <paramref name="maxInstructions"/> instructions at CS:EIP into the scratch buffer (or the given block).</summary>
    /// <returns>The number of instructions decoded (at least one).</returns>
    /// <remarks>
    /// A cached block is keyed by its physical address only, so its bytes must be what any CS:IP reaching that address reads:
    /// one run of bytes at consecutive linear addresses from the first, at most crossing into one more page (whose mapping
    /// <see cref="SecondPageStillMapped"/> re-checks). An instruction whose bytes wrap around the offset space of the code
    /// segment (16-bit code at IP FFFFh continues at CS:0000, far from the linear page after the first) breaks that: it
    /// ends the block before it, or, as the first instruction, is flagged in <see cref="_lastDecodeUncacheable"/> and
    /// never cached. The run loop re-checks the wrap for each entry (<see cref="FitBlockToCodeSegment"/>).
    /// </remarks>
    private int DecodeInto(DecodedBlock? target, ulong physical, int maxInstructions)
    {
        bool code32 = _ctx.Code32;
        uint ipMask = code32 ? 0xFFFFFFFF : 0xFFFF;
        Decoder decoder = code32 ? _decoder32 : _decoder16;
        _codeReader.Start(_ctx.SegBase[Cs], _ctx.Eip, ipMask, physical);
        uint ip = _ctx.Eip;
        DecodedInstruction[] buffer = target is null ? _decodeBuffer : target.Instructions;
        BlocksDecoded++;
        _lastDecodeUncacheable = false;
        int count = 0;
        uint byteLength = 0;
        while (true)
        {
            _codeReader.BeginInstruction(ip);
            decoder.IP = ip;
            decoder.Decode(out Instruction instruction);
            if (_fetchFaultPending)
            {
                // An instruction that crosses into an unfetchable page: a later instruction ends the block before it (and
                // faults when it starts the next one); the first leaves the fault pending for the caller.
                if (count > 0)
                {
                    _fetchFaultPending = false;
                }

                break;
            }

            if (_codeReader.InstructionIrregular)
            {
                if (count > 0)
                {
                    // Decoded again as the first instruction of the next block, and run uncached there.
                    break;
                }

                _lastDecodeUncacheable = true;
                Translate(in instruction, ref buffer[0], code32);
                count = 1;
                byteLength = (uint)instruction.Length;
                break;
            }

            Translate(in instruction, ref buffer[count], code32);
            if (buffer[count].Rep != 0 && buffer[count].Op is Op.Movs or Op.Cmps or Op.Scas or Op.Lods or Op.Stos or Op.Ins or Op.Outs)
            {
                // REP string instructions run alone in their own block (so their iteration budget is exact).
                if (count > 0)
                {
                    break;
                }

                buffer[count].EndsBlock = true;
            }
            else if (buffer[count].Op is Op.Rdtsc or Op.In or Op.Out or Op.Ins or Op.Outs && count > 0)
            {
                // RDTSC and port I/O start their own block, so RetiredInstructions includes every instruction before them
                // when they read the time-stamp counter or a device reads the machine's clock (see IPortAccessClock).
                break;
            }

            _codeReader.CommitInstruction();
            count++;
            byteLength += (uint)instruction.Length;
            uint next = (ip + (uint)instruction.Length) & ipMask;
            if (buffer[count - 1].EndsBlock || count >= maxInstructions || next < ip || _codeReader.SpansPages
                || ((uint)(_ctx.SegBase[Cs] + next) >> PageShift) != ((uint)(_ctx.SegBase[Cs] + ip) >> PageShift))
            {
                break;
            }

            ip = next;
        }

        _lastDecodeByteLength = byteLength;
        if (target is not null)
        {
            target.Count = count;
            target.ByteLength = byteLength;
        }

        return count;
    }

    /// <summary>
    /// Reads instruction bytes from guest memory for Iced, following CS:IP wrap-around and recording where the bytes lie:
    /// the block's first page, and the second page when the bytes cross a linear page boundary. Each instruction's bytes
    /// are tentative until <see cref="CommitInstruction"/>, so an instruction left out of the block leaves no trace.
    /// </summary>
    private sealed class GuestCodeReader(Cpu cpu) : CodeReader
    {
        private readonly byte[] _bytes = new byte[16];
        private ulong _csBase;
        private uint _ipMask;
        private uint _ip;
        private int _position;

        // The state after the last committed instruction, and the state including the instruction being read.
        private ulong _nextPhysical;
        private ulong _lastPage;
        private ulong _pendingNextPhysical;
        private ulong _pendingLastPage;
        private ulong _pendingSecondPage;
        private bool _pendingSpans;

        /// <summary>The physical page of the block's first byte.</summary>
        public ulong FirstPage { get; private set; }

        /// <summary>The physical page the bytes continue on after a linear page boundary (valid when <see cref="SpansPages"/>).</summary>
        public ulong SecondPage { get; private set; }

        /// <summary>Whether the committed bytes cross a linear page boundary (the second page may be any physical page, even the first).</summary>
        public bool SpansPages { get; private set; }

        /// <summary>The physical address of the last committed byte.</summary>
        public ulong LastPhysical => _nextPhysical - 1;

        /// <summary>
        /// Whether the current instruction's bytes cannot be part of a cached block: they wrap around the offset space of the
        /// code segment, or they are not one linear run with at most one page crossing in the whole block.
        /// </summary>
        public bool InstructionIrregular { get; private set; }

        public int InstructionByteCount { get; private set; }

        public ReadOnlySpan<byte> InstructionBytes => _bytes.AsSpan(0, Math.Min(InstructionByteCount, _bytes.Length));

        public void Start(ulong csBase, uint ip, uint ipMask, ulong physical)
        {
            _csBase = csBase;
            _ipMask = ipMask;
            FirstPage = physical >> PageShift;
            SecondPage = FirstPage;
            SpansPages = false;
            _nextPhysical = physical;
            _lastPage = FirstPage;
            _ip = ip;
        }

        public void BeginInstruction(uint ip)
        {
            _ip = ip;
            _position = 0;
            InstructionByteCount = 0;
            InstructionIrregular = false;
            _pendingNextPhysical = _nextPhysical;
            _pendingLastPage = _lastPage;
            _pendingSecondPage = SecondPage;
            _pendingSpans = SpansPages;
        }

        /// <summary>The instruction just decoded belongs to the block: its bytes count.</summary>
        public void CommitInstruction()
        {
            _nextPhysical = _pendingNextPhysical;
            _lastPage = _pendingLastPage;
            SecondPage = _pendingSecondPage;
            SpansPages = _pendingSpans;
        }

        public override int ReadByte()
        {
            if (_position >= 15)
            {
                return -1;
            }

            ulong unmasked = (ulong)_ip + (uint)_position;
            uint ip = (uint)unmasked & _ipMask;
            if (unmasked > _ipMask)
            {
                // The bytes wrap from the top of the offset space to CS:0000 (or CS:00000000 in 32-bit code).
                InstructionIrregular = true;
            }

            _position++;
            ulong linear = (uint)(_csBase + ip);
            PhysicalAddress physical = cpu._memory.ApplyA20(cpu.TranslateFetch(linear));
            if (cpu._fetchFaultPending)
            {
                return -1;
            }

            ulong address = physical.Value;
            ulong page = address >> PageShift;
            if (address != _pendingNextPhysical || page != _pendingLastPage)
            {
                // Not the byte after the previous one, or in another page: allowed once per block, where the linear address
                // crosses into the next page (which may map to any physical page, even the first; an unmapped one is the
                // fetch fault above). Anything else comes from an IP wrap, which is flagged already.
                if (_pendingSpans || (linear & PageMask) != 0)
                {
                    InstructionIrregular = true;
                }
                else
                {
                    _pendingSpans = true;
                    _pendingSecondPage = page;
                }
            }

            _pendingLastPage = page;
            _pendingNextPhysical = address + 1;
            byte value = cpu._memory.ReadByte(physical);
            _bytes[InstructionByteCount++] = value;
            return value;
        }
    }
}
