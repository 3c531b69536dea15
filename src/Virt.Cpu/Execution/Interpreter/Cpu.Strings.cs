using System.Runtime.CompilerServices;
using Virt.Cpu.Decoding;
using Virt.Memory;

namespace Virt.Cpu;

/// <summary>
/// String instructions at all widths, both directions, with REP/REPE/REPNE. A REP instruction runs its iterations inside one
/// dispatch, each iteration counting as one retired instruction; when the instruction budget runs out mid-way it stops with
/// (E)CX, (E)SI and (E)DI describing the remaining work and EIP still on the instruction, so it resumes exactly (and an
/// interrupt can be taken in between, Intel SDM Vol. 2B, REP).
/// </summary>
public sealed unsafe partial class Cpu
{
    private enum StringKind
    {
        Movs,
        Cmps,
        Scas,
        Lods,
        Stos,
        Ins,
        Outs,
    }

    private void ExecuteMovs(ref DecodedInstruction d) => ExecuteString(ref d, StringKind.Movs);

    private void ExecuteCmps(ref DecodedInstruction d) => ExecuteString(ref d, StringKind.Cmps);

    private void ExecuteScas(ref DecodedInstruction d) => ExecuteString(ref d, StringKind.Scas);

    private void ExecuteLods(ref DecodedInstruction d) => ExecuteString(ref d, StringKind.Lods);

    private void ExecuteStos(ref DecodedInstruction d) => ExecuteString(ref d, StringKind.Stos);

    private void ExecuteIns(ref DecodedInstruction d) => ExecuteString(ref d, StringKind.Ins);

    private void ExecuteOuts(ref DecodedInstruction d) => ExecuteString(ref d, StringKind.Outs);

    private void ExecuteString(ref DecodedInstruction d, StringKind kind)
    {
        if (d.Rep == 0)
        {
            StringIteration(ref d, kind);
            return;
        }

        int addrSize = d.AddrSize;
        ulong count = ReadRegister(RegCx, addrSize);
        if (count == 0)
        {
            return;
        }

        // While single-stepping, one iteration per dispatch: the single-step trap follows every iteration and returns to
        // the instruction, which resumes with the registers as left (Intel SDM Vol. 3B, 17.3.1.4).
        bool singleStep = (_ctx.Eflags & EflagsBits.Tf) != 0;
        long max = singleStep ? 1 : Math.Max(1, _budgetLeft);

        // With data or I/O breakpoints armed, stop after the iteration that hits one so its trap follows it; the pushed RF
        // is then 1 because the instruction resumes (Intel SDM Vol. 3B, 17.3.1.1).
        bool watching = _dataBreakpointsArmed | _ioBreakpointsArmed | _hostWatchesArmed;
        long done = 0;
        bool compare = kind is StringKind.Cmps or StringKind.Scas;

        // Whole runs within a page at once for MOVS/STOS forwards when nothing needs to see single iterations.
        bool spans = !singleStep && !watching && (kind is StringKind.Movs or StringKind.Stos) && (_ctx.Eflags & EflagsBits.Df) == 0;
        while (true)
        {
            long n = spans ? StringSpan(ref d, kind, count, max - done) : 0;
            if (n == 0)
            {
                StringIteration(ref d, kind);
                if (_faulted)
                {
                    break;
                }

                n = 1;
            }

            count -= (ulong)n;
            WriteRegister(RegCx, addrSize, count);
            done += n;
            if (count == 0)
            {
                break;
            }

            if (compare && Condition(4) != (d.Rep == 1))
            {
                // REPE stops when ZF = 0, REPNE when ZF = 1.
                break;
            }

            if (done >= max || EventPendingDuringRep(kind) || (watching && StopRepForDebugTrap()))
            {
                // Stop between iterations: EIP stays on the instruction, so it resumes with the registers as left. A trap
                // after an iteration but the last pushes RF = 1 (Intel SDM Vol. 3B, 17.3.1.1).
                _ctx.Rip = _ctx.InstructionStart;
                if (singleStep && (_ctx.Cr0 & Cr0Bits.Pe) != 0)
                {
                    _ctx.Eflags |= EflagsBits.Rf;
                }

                _exitBlock = true;
                break;
            }
        }

        if (done > 1)
        {
            _extraRetired += done - 1;
        }
    }

    /// <summary>
    /// Whether a REP instruction should pause between iterations for the host or an interrupt (Intel SDM Vol. 2B, REP: the
    /// instruction is interruptible between iterations). Port I/O may make a device raise an interrupt, so INS/OUTS ask the
    /// interrupt controller; memory-only strings look at the host stop request and NMI only.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool EventPendingDuringRep(StringKind kind)
    {
        if (_runLoopExits.StopRequested || _nmiPending)
        {
            return true;
        }

        return kind is StringKind.Ins or StringKind.Outs && (_ctx.Eflags & EflagsBits.If) != 0 && InterruptController is { IsInterruptPending: true };
    }

    /// <summary>
    /// The span path of REP MOVS/STOS (forwards): performs as many whole iterations as lie, for both operands, within the
    /// segment bounds, within one page whose host pointer the TLB already holds (RAM that holds no decoded code and has no
    /// watch, so no iteration could fault, hit a breakpoint or modify code), and within <paramref name="limit"/>;
    /// advances (E)SI/(E)DI by them and returns their number. Returns 0 when the next iteration is not such a one (a TLB
    /// miss, a page or segment boundary, a possible fault): the caller then runs it alone, which fills the TLB or raises the
    /// fault with the registers at that iteration, exactly as without spans.
    /// </summary>
    private long StringSpan(ref DecodedInstruction d, StringKind kind, ulong count, long limit)
    {
        int size = d.OpSize;
        int addrSize = d.AddrSize;
        ulong addressEnd = addrSize switch { 2 => 0x1_0000UL, 4 => 0x1_0000_0000UL, _ => ulong.MaxValue };
        ulong di = ReadRegister(RegDi, addrSize);
        ulong n = Math.Min(count, (ulong)limit);

        // Destination: within ES's write bound (none in 64-bit mode) and the address-size wrap, and within the page.
        bool code64 = _ctx.Code64;
        ulong writeEnd = code64 ? addressEnd : Math.Min(_ctx.SegWriteEnd[Es], addressEnd);
        if (di + (uint)size > writeEnd || di + (uint)size < di)
        {
            return 0;
        }

        n = Math.Min(n, (writeEnd - di) / (uint)size);
        ulong dstLinear = code64 ? Linear64(Es, di) : (uint)(_ctx.SegBase[Es] + di);
        uint dstOffset = (uint)dstLinear & PageMask;
        n = Math.Min(n, (PhysicalMemoryMap.PageSizeInBytes - dstOffset) / (uint)size);
        int dstSlot = (int)(dstLinear >> PageShift) & (TlbEntries - 1);
        if (n == 0 || _tlbWriteTag[dstSlot] != (dstLinear >> PageShift) + 1)
        {
            return 0;
        }

        byte* dst = (byte*)_tlbWriteHost[dstSlot] + dstOffset;
        if (kind == StringKind.Stos)
        {
            int bytes = (int)n * size;
            switch (size)
            {
                case 1:
                    new Span<byte>(dst, bytes).Fill((byte)_ctx.Gpr[RegAx]);
                    break;
                case 2:
                    new Span<ushort>(dst, bytes / 2).Fill((ushort)_ctx.Gpr[RegAx]);
                    break;
                case 4:
                    new Span<uint>(dst, bytes / 4).Fill((uint)_ctx.Gpr[RegAx]);
                    break;
                default:
                    new Span<ulong>(dst, bytes / 8).Fill(_ctx.Gpr[RegAx]);
                    break;
            }

            WriteRegister(RegDi, addrSize, di + (uint)bytes);
            return (long)n;
        }

        // Source: within the read bound of its segment and the wrap, and within its page.
        int seg = d.Seg;
        ulong si = ReadRegister(RegSi, addrSize);
        ulong readEnd = code64 ? addressEnd : Math.Min(_ctx.SegReadEnd[seg], addressEnd);
        if (si + (uint)size > readEnd || si + (uint)size < si)
        {
            return 0;
        }

        n = Math.Min(n, (readEnd - si) / (uint)size);
        ulong srcLinear = code64 ? Linear64(seg, si) : (uint)(_ctx.SegBase[seg] + si);
        uint srcOffset = (uint)srcLinear & PageMask;
        n = Math.Min(n, (PhysicalMemoryMap.PageSizeInBytes - srcOffset) / (uint)size);
        int srcSlot = (int)(srcLinear >> PageShift) & (TlbEntries - 1);
        if (n == 0 || _tlbReadTag[srcSlot] != (srcLinear >> PageShift) + 1)
        {
            return 0;
        }

        byte* src = (byte*)_tlbReadHost[srcSlot] + srcOffset;
        int length = (int)n * size;
        if (dst >= src + length || dst + length <= src)
        {
            Buffer.MemoryCopy(src, dst, length, length);
        }
        else
        {
            // Overlapping forwards (a pattern fill such as DI = SI + 1): element by element, as the instruction does.
            for (int i = 0; i < length; i += size)
            {
                StoreToHost(dst + i, size, LoadFromHost(src + i, size));
            }
        }

        WriteRegister(RegSi, addrSize, si + (uint)length);
        WriteRegister(RegDi, addrSize, di + (uint)length);
        return (long)n;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void StringIteration(ref DecodedInstruction d, StringKind kind)
    {
        int size = d.OpSize;
        int addrSize = d.AddrSize;
        // RSI/RDI/RCX with a 64-bit address size (Intel SDM Vol. 1, 3.3.7: REP counts in RCX, ECX with 67h).
        ulong addrMask = SizeMask(addrSize);
        ulong step = (_ctx.Eflags & EflagsBits.Df) != 0 ? (ulong)-size : (ulong)size;
        ulong si = ReadRegister(RegSi, addrSize);
        ulong di = ReadRegister(RegDi, addrSize);
        switch (kind)
        {
            case StringKind.Movs:
                {
                    ulong value = ReadMem(d.Seg, si, size);
                    if (_faulted)
                    {
                        return;
                    }

                    WriteMem(Es, di, size, value);
                    if (_faulted)
                    {
                        return;
                    }

                    WriteRegister(RegSi, addrSize, (si + step) & addrMask);
                    WriteRegister(RegDi, addrSize, (di + step) & addrMask);
                    break;
                }

            case StringKind.Cmps:
                {
                    ulong a = ReadMem(d.Seg, si, size);
                    ulong b = ReadMem(Es, di, size);
                    if (_faulted)
                    {
                        return;
                    }

                    SetLazy(LazyOp.Sub, a, b, a - b, size);
                    WriteRegister(RegSi, addrSize, (si + step) & addrMask);
                    WriteRegister(RegDi, addrSize, (di + step) & addrMask);
                    break;
                }

            case StringKind.Scas:
                {
                    ulong a = ReadRegister(RegAx, size);
                    ulong b = ReadMem(Es, di, size);
                    if (_faulted)
                    {
                        return;
                    }

                    SetLazy(LazyOp.Sub, a, b, a - b, size);
                    WriteRegister(RegDi, addrSize, (di + step) & addrMask);
                    break;
                }

            case StringKind.Lods:
                {
                    ulong value = ReadMem(d.Seg, si, size);
                    if (_faulted)
                    {
                        return;
                    }

                    WriteRegister(RegAx, size, value);
                    WriteRegister(RegSi, addrSize, (si + step) & addrMask);
                    break;
                }

            case StringKind.Stos:
                WriteMem(Es, di, size, ReadRegister(RegAx, size));
                if (_faulted)
                {
                    return;
                }

                WriteRegister(RegDi, addrSize, (di + step) & addrMask);
                break;
            case StringKind.Ins:
                {
                    if (!CheckWriteLimit(Es, di, size))
                    {
                        return;
                    }

                    _portAccessClock?.BeforePortAccess();
                    uint value = _ports.Read((ushort)_ctx.Gpr[RegDx], size);
                    WriteMem(Es, di, size, value);
                    WriteRegister(RegDi, addrSize, (di + step) & addrMask);
                    break;
                }

            default:
                {
                    ulong value = ReadMem(d.Seg, si, size);
                    if (_faulted)
                    {
                        return;
                    }

                    _portAccessClock?.BeforePortAccess();
                    _ports.Write((ushort)_ctx.Gpr[RegDx], size, (uint)value);
                    WriteRegister(RegSi, addrSize, (si + step) & addrMask);
                    break;
                }
        }
    }
}
