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

    private readonly DecodedBlock _scratchBlock;
    private DecodedBlock? _currentBlock;

    /// <summary>
    /// The estimated host memory held by the decode cache, in bytes: every cached block with its instruction array, its
    /// dictionary entry and page-list slots, and the per-page lists (the fixed 32 KiB lookup array is not counted). Never
    /// more than <see cref="CpuOptions.DecodeCacheBudgetInBytes"/>. For diagnostics.
    /// </summary>
    public long DecodeCacheSizeInBytes => _decodeCache.SizeInBytes;

    /// <summary>
    /// How many times the decode cache was emptied because a new block would have taken it over
    /// <see cref="CpuOptions.DecodeCacheBudgetInBytes"/> (since construction). For diagnostics: a count that keeps rising
    /// while a guest runs means its working set of code does not fit the budget.
    /// </summary>
    public long DecodeCacheEvictions => _decodeCache.Evictions;

    /// <summary>The number of decoded blocks currently cached (for tests and diagnostics).</summary>
    internal int CachedBlockCount => _decodeCache.Count;

    /// <summary>How many blocks were decoded since construction (for tests and diagnostics).</summary>
    internal long BlocksDecoded => _decoder.BlocksDecoded;

    /// <summary>The estimate of <see cref="DecodeCacheSizeInBytes"/> for one block of <paramref name="count"/> instructions, without its pages' lists.</summary>
    internal static long EstimateBlockBytes(int count, bool spansPages) => DecodeCache.EstimateBlockBytes(count, spansPages);

    /// <inheritdoc/>
    void IPhysicalMemoryObserver.OnTranslationsInvalidated(AddressRange range, bool contentChanged)
    {
        _mmu.Flush();
        if (contentChanged)
        {
            _decodeCache.InvalidatePhysicalPages(range.Start.Value >> PageShift, range.LastAddress.Value >> PageShift);
            ExitIfCurrentBlockInvalid();
        }
    }

    /// <inheritdoc/>
    void IPhysicalMemoryObserver.OnCodeWrite(PhysicalAddress address, int sizeInBytes)
    {
        _decodeCache.InvalidateCodeWrite(address, sizeInBytes);
        ExitIfCurrentBlockInvalid();
    }

    /// <summary>Drops every cached block; the running block (if any) ends after the current instruction.</summary>
    private void InvalidateAllBlocks()
    {
        _decodeCache.Clear();
        _exitBlock = true;
    }

    private void InvalidateCachedBlock(DecodedBlock block)
    {
        _decodeCache.Invalidate(block);
        ExitIfCurrentBlockInvalid();
    }

    /// <summary>Self-modifying code: when the running block was dropped, finish the current instruction, then fetch again from the new bytes.</summary>
    private void ExitIfCurrentBlockInvalid()
    {
        if (_currentBlock is { Valid: false })
        {
            _exitBlock = true;
        }
    }

    /// <summary>The block starting at CS:EIP, from the cache or freshly decoded.</summary>
    private DecodedBlock FetchBlock()
    {
        ulong linear = CodeLinear;
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
            if (next is not null && previous.Successor0Linear == linear && next.Valid && (next.Key & DecodeCache.CodeSizeKeyMask) == _ctx.CodeSizeKey)
            {
                _currentBlock = next;
                return next;
            }

            next = previous.Successor1;
            if (next is not null && previous.Successor1Linear == linear && next.Valid && (next.Key & DecodeCache.CodeSizeKeyMask) == _ctx.CodeSizeKey)
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
        ulong physical = _memory.ApplyA20(_decoder.TranslateFetch(linear)).Value;
        if (_decoder.FetchFaultPending)
        {
            // The first byte cannot be fetched: run the #PF pseudo-instruction, uncached.
            _decoder.FetchFaultPending = false;
            _currentBlock = null;
            return _fetchFaultBlock;
        }

        if (_options.DisableDecodeCache)
        {
            return DecodeUncached(physical);
        }

        ulong key = physical | _ctx.CodeSizeKey;
        int slot = DecodeCache.SlotOf(physical);
        DecodedBlock? block = _decodeCache.Find(slot, key);
        if (block is null)
        {
            block = DecodeBlock(physical, key);
            if (!block.Valid)
            {
                // A fetch fault, or an instruction that cannot be cached (see DecodeInto): nothing was cached.
                return block;
            }

            _decodeCache.Remember(slot, block);
        }

        if (block.SpansPages && _mmu.PagingEnabled && !SecondPageStillMapped(block, linear))
        {
            // Under paging the second page of a block that crosses a page boundary may have been remapped: decode afresh.
            InvalidateCachedBlock(block);
            block = DecodeBlock(physical, key);
            if (!block.Valid)
            {
                return block;
            }

            if (block.SpansPages && !SecondPageStillMapped(block, linear))
            {
                // A block decoded just now from this CS:EIP read its second page through the mapping the check uses, so this
                // cannot happen unless the decoder's own page walks changed the mapping. Never loop: run it uncached.
                InvalidateCachedBlock(block);
                return DecodeUncached(physical);
            }

            _decodeCache.Remember(slot, block);
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
        int count = _decoder.DecodeInto(null, physical, MaxBlockInstructions);
        if (_decoder.FetchFaultPending)
        {
            // The first instruction runs into a page that cannot be fetched: #PF, nothing cached.
            _decoder.FetchFaultPending = false;
            _currentBlock = null;
            return _fetchFaultBlock;
        }

        if (_decoder.LastDecodeUncacheable)
        {
            // The first instruction's bytes wrap around the top of the code segment's offset space (or are otherwise not one
            // run of at most two pages): its decode depends on CS:IP, not only on its physical address. Run it from a decode
            // that is not cached, so no cached block ever holds such bytes.
            _scratchBlock.Instructions[0] = _decoder.Buffer[0];
            _scratchBlock.Count = 1;
            _scratchBlock.ByteLength = _decoder.LastDecodeByteLength;
            _currentBlock = _scratchBlock;
            return _scratchBlock;
        }

        var block = new DecodedBlock(count);
        Array.Copy(_decoder.Buffer, block.Instructions, count);
        block.Count = count;
        block.ByteLength = _decoder.LastDecodeByteLength;
        block.Key = key;
        block.PhysicalStart = physical;
        block.PhysicalEnd = _decoder.LastPhysical + 1;
        block.Page0 = _decoder.FirstPage;
        block.Page1 = _decoder.SecondPage;
        block.SpansPages = _decoder.SpansPages;
        if (_decodeCache.Add(block))
        {
            _exitBlock = true;
        }

        return block;
    }

    /// <summary>Decodes the one instruction at CS:EIP (first byte at <paramref name="physical"/>) into the scratch block, which is never cached.</summary>
    private DecodedBlock DecodeUncached(ulong physical)
    {
        _decoder.DecodeInto(_scratchBlock, physical, maxInstructions: 1);
        if (_decoder.FetchFaultPending)
        {
            _decoder.FetchFaultPending = false;
            _currentBlock = null;
            return _fetchFaultBlock;
        }

        _currentBlock = _scratchBlock;
        return _scratchBlock;
    }

    /// <summary>Decodes the one instruction at CS:EIP without the cache (see <see cref="FitBlockToCodeSegment"/>).</summary>
    private DecodedBlock DecodeUncachedAtEip()
    {
        ulong physical = _memory.ApplyA20(_decoder.TranslateFetch(CodeLinear)).Value;
        if (_decoder.FetchFaultPending)
        {
            _decoder.FetchFaultPending = false;
            _currentBlock = null;
            return _fetchFaultBlock;
        }

        return DecodeUncached(physical);
    }
}
