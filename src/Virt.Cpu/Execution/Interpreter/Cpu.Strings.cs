using System.Runtime.CompilerServices;
using Virt.Cpu.Decoding;

namespace Virt.Cpu;

/// <summary>
/// String instructions at all widths, both directions, with REP/REPE/REPNE. A REP instruction runs its iterations inside one
/// dispatch, each iteration counting as one retired instruction; when the instruction budget runs out mid-way it stops with
/// (E)CX, (E)SI and (E)DI describing the remaining work and EIP still on the instruction, so it resumes exactly (and an
/// interrupt can be taken in between, Intel SDM Vol. 2B, REP).
/// </summary>
public sealed partial class Cpu
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
        while (true)
        {
            StringIteration(ref d, kind);
            if (_faulted)
            {
                break;
            }

            count--;
            WriteRegister(RegCx, addrSize, count);
            done++;
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
                _ctx.Eip = _ctx.InstructionStart;
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
        if (_stopRequested || _nmiPending)
        {
            return true;
        }

        return kind is StringKind.Ins or StringKind.Outs && (_ctx.Eflags & EflagsBits.If) != 0 && InterruptController is { IsInterruptPending: true };
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void StringIteration(ref DecodedInstruction d, StringKind kind)
    {
        int size = d.OpSize;
        int addrSize = d.AddrSize;
        uint addrMask = addrSize == 2 ? 0xFFFFu : 0xFFFFFFFFu;
        uint step = (_ctx.Eflags & EflagsBits.Df) != 0 ? (uint)-size : (uint)size;
        uint si = (uint)ReadRegister(RegSi, addrSize);
        uint di = (uint)ReadRegister(RegDi, addrSize);
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
