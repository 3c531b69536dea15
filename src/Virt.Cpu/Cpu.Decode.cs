using Iced.Intel;
using Virt.Cpu.Decoding;
using Virt.Memory;

namespace Virt.Cpu;

/// <summary>The decode cache: blocks decoded once with Iced, keyed by physical address and mode, invalidated on code writes.</summary>
public sealed partial class Cpu
{
    private const int MaxBlockInstructions = 64;
    private const int LookupEntries = 4096;
    private const ulong CodeSize32Key = 1UL << 63;

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

    /// <summary>The number of decoded blocks currently cached (for tests and diagnostics).</summary>
    internal int CachedBlockCount => _blocks.Count;

    /// <summary>How many blocks were decoded since construction (for tests and diagnostics).</summary>
    internal long BlocksDecoded { get; private set; }

    /// <inheritdoc/>
    void IPhysicalMemoryObserver.OnTranslationsInvalidated(AddressRange range, bool contentChanged)
    {
        FlushTlb();
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
                InvalidatePage(page, 0, ulong.MaxValue);
            }
        }
    }

    /// <inheritdoc/>
    void IPhysicalMemoryObserver.OnCodeWrite(PhysicalAddress address, int sizeInBytes)
    {
        ulong start = address.Value;
        ulong end = start + (ulong)sizeInBytes;
        InvalidatePage(start >> PageShift, start, end);
        if (((end - 1) >> PageShift) != (start >> PageShift))
        {
            InvalidatePage((end - 1) >> PageShift, start, end);
        }
    }

    private void InvalidatePage(ulong page, ulong start, ulong end)
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
        _blocks.Remove(block.Key);
        RemoveFromPage(block, block.Page0);
        if (block.SpansPages)
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
                _memory.UnmarkCodePage(new PhysicalAddress(page << PageShift));
            }
        }
    }

    private void InvalidateAllBlocks()
    {
        foreach (DecodedBlock block in _blocks.Values)
        {
            block.Valid = false;
        }

        _blocks.Clear();
        foreach (ulong page in _blocksByPage.Keys)
        {
            _memory.UnmarkCodePage(new PhysicalAddress(page << PageShift));
        }

        _blocksByPage.Clear();
        Array.Clear(_blockLookup);
        _exitBlock = true;
    }

    private void AddToPage(DecodedBlock block, ulong page)
    {
        if (!_blocksByPage.TryGetValue(page, out List<DecodedBlock>? list))
        {
            list = [];
            _blocksByPage.Add(page, list);
            _memory.MarkCodePage(new PhysicalAddress(page << PageShift));
        }

        list.Add(block);
    }

    /// <summary>The block starting at CS:EIP, from the cache or freshly decoded.</summary>
    private DecodedBlock FetchBlock()
    {
        ulong linear = (uint)(_segBase[Cs] + _eip);
        DecodedBlock? previous = _currentBlock;
        if (previous is not null && previous.Valid && !_options.DisableDecodeCache)
        {
            // Block chaining through the previous block's successor cache. The links are keyed by linear address, so they
            // hold only while the translations they were made under do: a TLB flush or INVLPG starts a new epoch.
            if (previous.LinkEpoch != _translationEpoch)
            {
                previous.Successor0 = null;
                previous.Successor1 = null;
                previous.LinkEpoch = _translationEpoch;
            }

            DecodedBlock? next = previous.Successor0;
            if (next is not null && previous.Successor0Linear == linear && next.Valid && (next.Key & CodeSize32Key) == (_code32 ? CodeSize32Key : 0))
            {
                _currentBlock = next;
                return next;
            }

            next = previous.Successor1;
            if (next is not null && previous.Successor1Linear == linear && next.Valid && (next.Key & CodeSize32Key) == (_code32 ? CodeSize32Key : 0))
            {
                _currentBlock = next;
                return next;
            }
        }

        DecodedBlock found = LookupBlock(linear);
        if (previous is not null && previous.Valid && !_options.DisableDecodeCache)
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

    private DecodedBlock LookupBlock(ulong linear)
    {
        ulong physical = _memory.ApplyA20(TranslateLinear(linear)).Value;
        if (_fetchFaultPending)
        {
            // The first byte cannot be fetched: run the #PF pseudo-instruction, uncached.
            _fetchFaultPending = false;
            _currentBlock = null;
            return _fetchFaultBlock;
        }

        ulong key = physical | (_code32 ? CodeSize32Key : 0);
        if (_options.DisableDecodeCache)
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

        int slot = (int)((physical ^ (physical >> 11)) & (LookupEntries - 1));
        DecodedBlock? block = _blockLookup[slot];

        if (block is null || block.Key != key || !block.Valid)
        {
            if (!_blocks.TryGetValue(key, out block))
            {
                int count = DecodeInto(null, physical, MaxBlockInstructions);
                if (_fetchFaultPending)
                {
                    // The first instruction runs into a page that cannot be fetched: #PF, nothing cached.
                    _fetchFaultPending = false;
                    _currentBlock = null;
                    return _fetchFaultBlock;
                }

                block = new DecodedBlock(count);
                Array.Copy(_decodeBuffer, block.Instructions, count);
                block.Count = count;
                block.ByteLength = _lastDecodeByteLength;
                block.Key = key;
                block.PhysicalStart = physical;
                block.PhysicalEnd = _codeReader.LastPhysical + 1;
                block.Page0 = _codeReader.FirstPage;
                block.Page1 = _codeReader.LastPage;
                block.SpansPages = _codeReader.FirstPage != _codeReader.LastPage;
                block.Valid = true;
                _blocks.Add(key, block);
                AddToPage(block, block.Page0);
                if (block.SpansPages)
                {
                    AddToPage(block, block.Page1);
                }
            }

            _blockLookup[slot] = block;
        }

        if (block.SpansPages && PagingEnabled && !SecondPageStillMapped(block, linear))
        {
            // Under paging the second page of a block that crosses a page boundary may have been remapped: decode afresh.
            InvalidateBlock(block);
            return LookupBlock(linear);
        }

        _currentBlock = block;
        return block;
    }

    /// <summary>Decodes up to <paramref name="maxInstructions"/> instructions at CS:EIP into the scratch buffer (or the given block).</summary>
    /// <returns>The number of instructions decoded (at least one).</returns>
    private int DecodeInto(DecodedBlock? target, ulong physical, int maxInstructions)
    {
        bool code32 = _code32;
        uint ipMask = code32 ? 0xFFFFFFFF : 0xFFFF;
        Decoder decoder = code32 ? _decoder32 : _decoder16;
        _codeReader.Start(_segBase[Cs], _eip, ipMask, physical);
        uint ip = _eip;
        ulong startPage = physical >> PageShift;
        DecodedInstruction[] buffer = target is null ? _decodeBuffer : target.Instructions;
        BlocksDecoded++;
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
                // when they read the time-stamp counter or a device reads the machine's clock (see BeforePortAccess).
                break;
            }

            count++;
            byteLength += (uint)instruction.Length;
            uint next = (ip + (uint)instruction.Length) & ipMask;
            if (buffer[count - 1].EndsBlock || count >= maxInstructions || next < ip || _codeReader.LastPage != startPage
                || ((_segBase[Cs] + next) >> PageShift) != ((_segBase[Cs] + ip) >> PageShift))
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

    /// <summary>Reads instruction bytes from guest memory for Iced, following CS:IP wrap-around and recording which pages were read.</summary>
    private sealed class GuestCodeReader(Cpu cpu) : CodeReader
    {
        private readonly byte[] _bytes = new byte[16];
        private ulong _csBase;
        private uint _ipMask;
        private uint _ip;
        private int _position;

        public ulong FirstPage { get; private set; }

        public ulong LastPage { get; private set; }

        public ulong LastPhysical { get; private set; }

        public int InstructionByteCount { get; private set; }

        public ReadOnlySpan<byte> InstructionBytes => _bytes.AsSpan(0, Math.Min(InstructionByteCount, _bytes.Length));

        public void Start(ulong csBase, uint ip, uint ipMask, ulong physical)
        {
            _csBase = csBase;
            _ipMask = ipMask;
            FirstPage = physical >> PageShift;
            LastPage = FirstPage;
            LastPhysical = physical;
            _ip = ip;
        }

        public void BeginInstruction(uint ip)
        {
            _ip = ip;
            _position = 0;
            InstructionByteCount = 0;
        }

        public override int ReadByte()
        {
            if (_position >= 15)
            {
                return -1;
            }

            uint ip = (_ip + (uint)_position) & _ipMask;
            _position++;
            ulong linear = (uint)(_csBase + ip);
            PhysicalAddress physical = cpu._memory.ApplyA20(cpu.TranslateLinear(linear));
            if (cpu._fetchFaultPending)
            {
                return -1;
            }

            LastPhysical = physical.Value;
            if (physical.Value >> PageShift != FirstPage)
            {
                LastPage = physical.Value >> PageShift;
            }

            byte value = cpu._memory.ReadByte(physical);
            _bytes[InstructionByteCount++] = value;
            return value;
        }
    }
}
