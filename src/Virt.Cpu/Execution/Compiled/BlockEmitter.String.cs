using System.Reflection.Emit;
using Virt.Cpu.Decoding;
using M = Virt.Cpu.Cpu.CompiledTierMembers;
using Mem = Virt.Cpu.Cpu.CompiledMemoryMembers;
using Str = Virt.Cpu.Cpu.CompiledStringMembers;

namespace Virt.Cpu;

/// <summary>
/// REP MOVS and REP STOS (bytes to quadwords, any address size of the mode) generated inline for the case the interpreter
/// runs as one span (Cpu.ExecuteString and Cpu.StringSpan): DF and TF clear, no data/I-O breakpoint or host watch armed, a
/// count from 1 to what the budget allows (Cpu._budgetLeft, the run loop's remaining instructions: a REP instruction sits
/// alone at the start of its block), and every byte of the destination (and of the source) within the segment's bound,
/// the address-size wrap, one page and a TLB hit (a write-TLB hit means RAM holding no decoded code and no watch, so no
/// element could fault, modify code or be observed). Then the whole string is copied or filled on the host page at once,
/// ESI/EDI advance by its length, ECX becomes 0 and the iterations beyond the first count as retired instructions, exactly
/// as the interpreter's single span does (which never looks for events after its last iteration). MOVS whose destination
/// starts inside the source after its start replicates the pattern element by element (Intel SDM Vol. 2B, MOVS: one
/// element at a time): that, and everything else (a zero count, a count beyond the budget, a page or segment boundary, a
/// TLB miss, DF set), takes the slow path, the interpreter's dispatch for the whole instruction, which stops mid-string at
/// the budget's end, raises faults at the right element and detects stores into code.
/// </summary>
internal sealed partial class BlockEmitter
{
    private LocalBuilder? _stringCount;
    private LocalBuilder? _stringBytes;
    private LocalBuilder? _stringEnd;
    private LocalBuilder? _destinationEnd;

    private LocalBuilder StringCount => _stringCount ??= _il.DeclareLocal(typeof(ulong));

    private LocalBuilder StringBytes => _stringBytes ??= _il.DeclareLocal(typeof(ulong));

    private LocalBuilder StringEnd => _stringEnd ??= _il.DeclareLocal(typeof(ulong));

    private LocalBuilder DestinationEnd => _destinationEnd ??= _il.DeclareLocal(typeof(ulong));

    /// <summary>Whether <see cref="TryEmitRepString"/> generates the instruction: REP MOVS/STOS of any element size, at an address size of the mode.</summary>
    private bool RepStringFits(in DecodedInstruction d)
    {
        bool addressing = _code64 ? d.AddrSize is 4 or 8 : d.AddrSize is 2 or 4;
        return d.Rep != 0 && d.Op is Op.Movs or Op.Stos && d.OpSize is 1 or 2 or 4 or 8 && addressing;
    }

    /// <summary>Generates instruction <paramref name="i"/> when it is REP MOVS or REP STOS; false leaves it to the interpreter call.</summary>
    private bool TryEmitRepString(int i, ref DecodedInstruction d)
    {
        if (!RepStringFits(in d))
        {
            return false;
        }

        ILGenerator il = _il;
        int size = d.OpSize;
        int addressSize = d.AddrSize;
        SlowPath slow = BeginSlowPath(i);

        // Nothing may need to see single iterations: DF (the span path runs forwards), TF, breakpoints, watches.
        il.Emit(OpCodes.Ldloc, _ctx);
        il.Emit(OpCodes.Ldfld, M.Eflags);
        il.Emit(OpCodes.Ldc_I4, (int)(EflagsBits.Df | EflagsBits.Tf));
        il.Emit(OpCodes.And);
        il.Emit(OpCodes.Brtrue, slow.Entry);
        il.Emit(OpCodes.Ldarg_0);
        il.Emit(OpCodes.Ldfld, Str.DataBreakpointsArmed);
        il.Emit(OpCodes.Ldarg_0);
        il.Emit(OpCodes.Ldfld, Str.IoBreakpointsArmed);
        il.Emit(OpCodes.Or);
        il.Emit(OpCodes.Ldarg_0);
        il.Emit(OpCodes.Ldfld, Str.HostWatchesArmed);
        il.Emit(OpCodes.Or);
        il.Emit(OpCodes.Brtrue, slow.Entry);

        // 1 <= count <= one page of elements, and within the budget (signed: a budget at or below zero allows no span).
        LoadRegister(Str.CountRegister, addressSize);
        il.Emit(OpCodes.Stloc, StringCount);
        il.Emit(OpCodes.Ldloc, StringCount);
        il.Emit(OpCodes.Ldc_I8, 1L);
        il.Emit(OpCodes.Sub);
        il.Emit(OpCodes.Ldc_I8, (long)(Mem.PageSize / (uint)size) - 1);
        il.Emit(OpCodes.Bgt_Un, slow.Entry);
        il.Emit(OpCodes.Ldloc, StringCount);
        il.Emit(OpCodes.Ldarg_0);
        il.Emit(OpCodes.Ldfld, Str.BudgetLeft);
        il.Emit(OpCodes.Bgt, slow.Entry);
        il.Emit(OpCodes.Ldloc, StringCount);
        il.Emit(OpCodes.Ldc_I4, System.Numerics.BitOperations.Log2((uint)size));
        il.Emit(OpCodes.Shl);
        il.Emit(OpCodes.Stloc, StringBytes);

        // The destination ES:EDI, then for MOVS the source seg:ESI, each wholly within its bound, page and TLB entry.
        LoadRegister(Str.DestinationRegister, addressSize);
        il.Emit(OpCodes.Stloc, OffsetLocal);
        EmitStringOperandProbe(Str.DestinationSegment, addressSize, write: true, slow.Entry);
        il.Emit(OpCodes.Ldloc, StringEnd);
        il.Emit(OpCodes.Stloc, DestinationEnd);
        if (d.Op == Op.Movs)
        {
            EmitMovsCopy(ref d, addressSize, slow.Entry);
        }
        else
        {
            EmitStosFill(size);
        }

        // Past the last branch to the slow path: the registers change only now.
        il.Emit(OpCodes.Ldloc, DestinationEnd);
        StoreRegister(Str.DestinationRegister, addressSize);
        if (d.Op == Op.Movs)
        {
            il.Emit(OpCodes.Ldloc, StringEnd);
            StoreRegister(Str.SourceRegister, addressSize);
        }

        il.Emit(OpCodes.Ldc_I8, 0L);
        StoreRegister(Str.CountRegister, addressSize);

        // The iterations beyond the first are retired instructions the block's count does not include (Cpu.ExecuteString).
        il.Emit(OpCodes.Ldarg_0);
        il.Emit(OpCodes.Ldarg_0);
        il.Emit(OpCodes.Ldfld, Str.ExtraRetired);
        il.Emit(OpCodes.Ldloc, StringCount);
        il.Emit(OpCodes.Ldc_I8, 1L);
        il.Emit(OpCodes.Sub);
        il.Emit(OpCodes.Add);
        il.Emit(OpCodes.Stfld, Str.ExtraRetired);
        EndSlowPath(slow);
        return true;
    }

    /// <summary>
    /// Probes the string operand at the offset in OffsetLocal for StringBytes bytes, as Cpu.StringSpan bounds it: the end
    /// (kept in StringEnd) within the segment's read or write bound (not in 64-bit mode) and the address-size wrap, the
    /// linear range within one page, and a read or write TLB hit whose host pointer lands in ReadHostLocal or WriteHostLocal.
    /// </summary>
    private void EmitStringOperandProbe(int segment, int addressSize, bool write, Label slow)
    {
        ILGenerator il = _il;
        il.Emit(OpCodes.Ldloc, OffsetLocal);
        il.Emit(OpCodes.Ldloc, StringBytes);
        il.Emit(OpCodes.Add);
        il.Emit(OpCodes.Stloc, StringEnd);
        if (addressSize == 8)
        {
            // The end must not wrap past 2^64.
            il.Emit(OpCodes.Ldloc, StringEnd);
            il.Emit(OpCodes.Ldloc, OffsetLocal);
            il.Emit(OpCodes.Blt_Un, slow);
        }
        else
        {
            il.Emit(OpCodes.Ldloc, StringEnd);
            il.Emit(OpCodes.Ldc_I8, 1L << (addressSize * 8));
            il.Emit(OpCodes.Bgt_Un, slow);
        }

        if (!_code64)
        {
            il.Emit(OpCodes.Ldloc, StringEnd);
            il.Emit(OpCodes.Ldloc, _ctx);
            il.Emit(OpCodes.Ldfld, write ? Mem.SegWriteEnd : Mem.SegReadEnd);
            il.Emit(OpCodes.Ldc_I4, segment);
            il.Emit(OpCodes.Ldelem_I8);
            il.Emit(OpCodes.Bgt_Un, slow);
        }

        EmitLinear(segment);
        EmitStoreLinearPageAndSlot();

        // The whole string within the page (at most one page of bytes, checked before).
        il.Emit(OpCodes.Ldloc, InPageLocal);
        il.Emit(OpCodes.Conv_U8);
        il.Emit(OpCodes.Ldloc, StringBytes);
        il.Emit(OpCodes.Add);
        il.Emit(OpCodes.Ldc_I8, (long)Mem.PageSize);
        il.Emit(OpCodes.Bgt_Un, slow);
        if (write)
        {
            EmitTlbLookup(Mem.WriteTag, Mem.WriteHost, WriteHostLocal, slow);
        }
        else
        {
            EmitTlbLookup(Mem.ReadTag, Mem.ReadHost, ReadHostLocal, slow);
        }
    }

    /// <summary>
    /// MOVS: the source probed, a destination inside the source after its start sent to the slow path (the element-wise
    /// forward copy replicates a pattern there; anywhere else it equals a memmove, Cpu.StringSpan), the bytes moved (the
    /// registers are set by the caller, after the last branch to the slow path).
    /// </summary>
    private void EmitMovsCopy(ref DecodedInstruction d, int addressSize, Label slow)
    {
        ILGenerator il = _il;
        LoadRegister(Str.SourceRegister, addressSize);
        il.Emit(OpCodes.Stloc, OffsetLocal);
        EmitStringOperandProbe(d.Seg, addressSize, write: false, slow);

        // dst in (src, src + bytes): the slow path.
        Label apart = il.DefineLabel();
        il.Emit(OpCodes.Ldloc, WriteHostLocal);
        il.Emit(OpCodes.Ldloc, ReadHostLocal);
        il.Emit(OpCodes.Ble_Un, apart);
        il.Emit(OpCodes.Ldloc, WriteHostLocal);
        il.Emit(OpCodes.Ldloc, ReadHostLocal);
        il.Emit(OpCodes.Ldloc, StringBytes);
        il.Emit(OpCodes.Conv_I);
        il.Emit(OpCodes.Add);
        il.Emit(OpCodes.Blt_Un, slow);
        il.MarkLabel(apart);

        il.Emit(OpCodes.Ldloc, ReadHostLocal);
        il.Emit(OpCodes.Ldloc, WriteHostLocal);
        il.Emit(OpCodes.Ldloc, StringBytes);
        il.Emit(OpCodes.Ldloc, StringBytes);
        il.Emit(OpCodes.Call, Str.MemoryCopy);
    }

    /// <summary>STOS: AL/AX/EAX/RAX stored StringCount times from WriteHostLocal on (Cpu.StringSpan's fill).</summary>
    private void EmitStosFill(int size)
    {
        ILGenerator il = _il;
        LoadRegister(Str.ValueRegister, 8);
        il.Emit(OpCodes.Stloc, ValueLocal);
        if (size == 1)
        {
            il.Emit(OpCodes.Ldloc, WriteHostLocal);
            il.Emit(OpCodes.Ldloc, ValueLocal);
            il.Emit(OpCodes.Conv_U1);
            il.Emit(OpCodes.Ldloc, StringBytes);
            il.Emit(OpCodes.Conv_U4);
            il.Emit(OpCodes.Unaligned, (byte)1);
            il.Emit(OpCodes.Initblk);
            return;
        }

        // WriteHostLocal walks to the end; nothing reads it afterwards.
        Label loop = il.DefineLabel();
        Label end = il.DefineLabel();
        il.Emit(OpCodes.Ldloc, WriteHostLocal);
        il.Emit(OpCodes.Ldloc, StringBytes);
        il.Emit(OpCodes.Conv_I);
        il.Emit(OpCodes.Add);
        il.Emit(OpCodes.Stloc, ReadHostLocal);
        il.MarkLabel(loop);
        il.Emit(OpCodes.Ldloc, WriteHostLocal);
        il.Emit(OpCodes.Ldloc, ReadHostLocal);
        il.Emit(OpCodes.Bge_Un, end);
        il.Emit(OpCodes.Ldloc, WriteHostLocal);
        il.Emit(OpCodes.Ldloc, ValueLocal);
        StoreToHost(size);
        il.Emit(OpCodes.Ldloc, WriteHostLocal);
        il.Emit(OpCodes.Ldc_I4, size);
        il.Emit(OpCodes.Add);
        il.Emit(OpCodes.Stloc, WriteHostLocal);
        il.Emit(OpCodes.Br, loop);
        il.MarkLabel(end);
    }
}
