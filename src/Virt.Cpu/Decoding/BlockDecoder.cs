using Iced.Intel;
using Virt.Memory;

namespace Virt.Cpu.Decoding;

/// <summary>
/// The block decoder: reads instruction bytes at CS:EIP through the MMU's fetch translation (recording a pending fetch
/// fault instead of raising it), decodes them with Iced and translates each instruction once
/// (<see cref="InstructionTranslator"/>) into a straight-line run that ends at a control transfer, a page end, an
/// instruction that must start or run alone (REP string, RDTSC, port I/O) or 64 instructions. It knows nothing of the
/// cache: the caller (Cpu.Decode.cs) copies a decoded run into a <see cref="DecodedBlock"/> and caches it.
/// </summary>
internal sealed class BlockDecoder
{
    /// <summary>The most instructions one block holds.</summary>
    public const int MaxBlockInstructions = 64;

    private const int CsIndex = 1;
    private const int PageShift = Mmu.PageShift;
    private const ulong PageMask = Mmu.PageMask;

    private readonly Cpu _cpu;
    private readonly Mmu _mmu;
    private readonly PhysicalMemoryMap _memory;
    private readonly GuestCodeReader _codeReader;
    private readonly Decoder _decoder16;
    private readonly Decoder _decoder32;
    private readonly Decoder _decoder64;
    private readonly CpuidFeatureGate _featureGate;

    /// <summary>Creates the decoder of one CPU.</summary>
    /// <param name="cpu">The CPU whose state (CS base, EIP, CS.D) says where and how to decode.</param>
    /// <param name="mmu">The MMU, for fetch translation.</param>
    /// <param name="memory">Guest physical memory.</param>
    /// <param name="model">The CPU's CPUID model: instructions of features it does not advertise decode as #UD.</param>
    public BlockDecoder(Cpu cpu, Mmu mmu, PhysicalMemoryMap memory, CpuidModel model)
    {
        _featureGate = new CpuidFeatureGate(model);
        _cpu = cpu;
        _mmu = mmu;
        _memory = memory;
        _codeReader = new GuestCodeReader(this);
        _decoder16 = Decoder.Create(16, _codeReader);
        _decoder32 = Decoder.Create(32, _codeReader);
        _decoder64 = Decoder.Create(64, _codeReader);
    }

    /// <summary>The CPU's architectural state.</summary>
    private ref CpuContext Ctx => ref _cpu.Context;

    /// <summary>The scratch buffer <see cref="DecodeInto"/> fills when it is given no target block.</summary>
    public DecodedInstruction[] Buffer { get; } = new DecodedInstruction[MaxBlockInstructions];

    /// <summary>How many blocks were decoded since construction.</summary>
    public long BlocksDecoded { get; private set; }

    /// <summary>The number of instruction bytes of the last decode.</summary>
    public uint LastDecodeByteLength { get; private set; }

    /// <summary>
    /// Whether the last decode's first instruction must not be cached: its bytes wrap around the top of the code segment's
    /// offset space (or are otherwise not one run of at most two pages).
    /// </summary>
    public bool LastDecodeUncacheable { get; private set; }

    /// <summary>The physical page of the last decode's first byte.</summary>
    public ulong FirstPage => _codeReader.FirstPage;

    /// <summary>The physical page the last decode's bytes continue on after a linear page boundary (valid when <see cref="SpansPages"/>).</summary>
    public ulong SecondPage => _codeReader.SecondPage;

    /// <summary>Whether the last decode's bytes cross a linear page boundary.</summary>
    public bool SpansPages => _codeReader.SpansPages;

    /// <summary>The physical address of the last decode's last byte.</summary>
    public ulong LastPhysical => _codeReader.LastPhysical;

    /// <summary>Set when a code byte could not be fetched (#PF); the caller runs the fetch-fault pseudo-instruction and clears it.</summary>
    public bool FetchFaultPending;

    /// <summary>The linear address of the byte that could not be fetched (for CR2).</summary>
    public ulong FetchFaultLinear;

    /// <summary>The #PF error code of the failed fetch.</summary>
    public int FetchFaultError;

    /// <summary>
    /// Translation for instruction fetch (through the MMU's fetch TLB): on a fault it records a pending fetch fault, taken
    /// when the instruction would start (the fetch-fault pseudo-instruction, Op.FetchFault), and returns address 0.
    /// </summary>
    public PhysicalAddress TranslateFetch(ulong linear)
    {
        int error = _mmu.TranslateFetch(new LinearAddress(linear), out PhysicalAddress physical);
        if (error < 0)
        {
            return physical;
        }

        if (!FetchFaultPending)
        {
            FetchFaultPending = true;
            FetchFaultLinear = linear;
            FetchFaultError = error;
        }

        return new PhysicalAddress(0);
    }

    /// <summary>Decodes up to <paramref name="maxInstructions"/> instructions at CS:EIP into the scratch buffer (or the given block).</summary>
    /// <returns>The number of instructions decoded (at least one).</returns>
    /// <remarks>
    /// A cached block is keyed by its physical address only, so its bytes must be what any CS:IP reaching that address reads:
    /// one run of bytes at consecutive linear addresses from the first, at most crossing into one more page (whose mapping
    /// the CPU (Cpu.SecondPageStillMapped) re-checks). An instruction whose bytes wrap around the offset space of the code
    /// segment (16-bit code at IP FFFFh continues at CS:0000, far from the linear page after the first) breaks that: it
    /// ends the block before it, or, as the first instruction, is flagged in <see cref="LastDecodeUncacheable"/> and
    /// never cached. The run loop re-checks the wrap for each entry (Cpu.FitBlockToCodeSegment).
    /// </remarks>
    public int DecodeInto(DecodedBlock? target, ulong physical, int maxInstructions)
    {
        bool code32 = Ctx.Code32;
        bool code64 = Ctx.Code64;
        ulong ipMask = Ctx.IpMask;
        Decoder decoder = code64 ? _decoder64 : code32 ? _decoder32 : _decoder16;
        ulong csBase = code64 ? 0 : Ctx.SegBase[CsIndex];
        _codeReader.Start(csBase, Ctx.Rip, ipMask, physical, code64);
        ulong ip = Ctx.Rip;
        DecodedInstruction[] buffer = target is null ? Buffer : target.Instructions;
        BlocksDecoded++;
        LastDecodeUncacheable = false;
        int count = 0;
        uint byteLength = 0;
        while (true)
        {
            _codeReader.BeginInstruction(ip);
            decoder.IP = ip;
            decoder.Decode(out Instruction instruction);
            if (FetchFaultPending)
            {
                // An instruction that crosses into an unfetchable page: a later instruction ends the block before it (and
                // faults when it starts the next one); the first leaves the fault pending for the caller.
                if (count > 0)
                {
                    FetchFaultPending = false;
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

                LastDecodeUncacheable = true;
                InstructionTranslator.Translate(in instruction, _codeReader.InstructionBytes, ref buffer[0], code32, code64);
                GateFeature(in instruction, ref buffer[0], code64);
                count = 1;
                byteLength = (uint)instruction.Length;
                break;
            }

            InstructionTranslator.Translate(in instruction, _codeReader.InstructionBytes, ref buffer[count], code32, code64);
            GateFeature(in instruction, ref buffer[count], code64);
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
            ulong next = (ip + (uint)instruction.Length) & ipMask;
            if (buffer[count - 1].EndsBlock || count >= maxInstructions || next < ip || _codeReader.SpansPages
                || (_codeReader.LinearOf(next) >> PageShift) != (_codeReader.LinearOf(ip) >> PageShift))
            {
                break;
            }

            ip = next;
        }

        LastDecodeByteLength = byteLength;
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
private sealed class GuestCodeReader(BlockDecoder owner) : CodeReader
{
    private readonly byte[] _bytes = new byte[16];
    private ulong _csBase;
    private ulong _ipMask;
    private ulong _ip;
    private bool _code64;
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

    public void Start(ulong csBase, ulong ip, ulong ipMask, ulong physical, bool code64)
    {
        _code64 = code64;
        _csBase = csBase;
        _ipMask = ipMask;
        FirstPage = physical >> PageShift;
        SecondPage = FirstPage;
        SpansPages = false;
        _nextPhysical = physical;
        _lastPage = FirstPage;
        _ip = ip;
    }

    /// <summary>The linear address of code offset <paramref name="ip"/>: 64 bits wide in 64-bit mode, else wrapping at 4 GiB.</summary>
    public ulong LinearOf(ulong ip) => _code64 ? ip : (uint)(_csBase + ip);

    public void BeginInstruction(ulong ip)
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

        ulong unmasked = _ip + (uint)_position;
        ulong ip = unmasked & _ipMask;
        if (unmasked > _ipMask || (_code64 && unmasked < _ip))
        {
            // The bytes wrap from the top of the offset space to CS:0000 (or CS:00000000 in 32-bit code).
            InstructionIrregular = true;
        }

        _position++;
        ulong linear = LinearOf(ip);
        PhysicalAddress physical = owner._memory.ApplyA20(owner.TranslateFetch(linear));
        if (owner.FetchFaultPending)
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
        byte value = owner._memory.ReadByte(physical);
        _bytes[InstructionByteCount++] = value;
        return value;
    }
}

    /// <summary>
    /// Turns an instruction whose CPUID feature the model does not advertise into #UD (<see cref="CpuidFeatureGate"/>). The
    /// hint NOPs (PREFETCHh, PAUSE, NOP r/m) stay NOPs: they are NOPs on processors without the feature.
    /// </summary>
    private void GateFeature(in Instruction instruction, ref DecodedInstruction d, bool code64)
    {
        if (d.Op is not (Op.Invalid or Op.Nop) && _featureGate.IsMissing(in instruction, code64))
        {
            d.Op = Op.Invalid;
            d.EndsBlock = true;
        }
    }
}
