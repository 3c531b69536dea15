using System.Reflection.Emit;
using Virt.Cpu.Decoding;
using M = Virt.Cpu.Cpu.CompiledTierMembers;
using Mem = Virt.Cpu.Cpu.CompiledMemoryMembers;

namespace Virt.Cpu;

/// <summary>
/// The memory operands and stack operations generated inline: the interpreter's fast forms (Cpu.FastMemory.cs,
/// Cpu.FastMemory64.cs) as IL. The effective address comes from the register locals; the access is checked against the
/// segment's precomputed bound (outside 64-bit mode) and probes the software TLB exactly as the fast forms do, so a hit
/// reads or writes the host page directly. Anything else (beyond the bound, a TLB miss, a page-crossing access, MMIO,
/// watched pages, pages holding decoded code, a stack whose width is not the operand's, a branch target outside CS) jumps to the instruction's slow
/// path, placed after the method's body: a side exit (BlockEmitter.SideExit.cs) that writes back the state of the
/// instruction's start (registers, lazy-flag record, EIP at its first byte) and runs the rest of the block from that
/// instruction in the interpreter's loop, which raises faults, fills the TLB and detects self-modifying code as always.
/// Nothing the straight path does before its last branch to the slow path changes the state, so every fault is the
/// interpreter's, at the instruction's start.
/// </summary>
internal sealed partial class BlockEmitter
{
    /// <summary>The block was decoded for 64-bit mode (its cache key says so): 64-bit addressing, RSP, no segment limits.</summary>
    private readonly bool _code64;

    /// <summary>The slow paths of the instructions generated inline, emitted after the method's body.</summary>
    private readonly List<SlowPath> _slowPaths = [];

    private LocalBuilder? _offsetLocal;
    private LocalBuilder? _linearLocal;
    private LocalBuilder? _pageLocal;
    private LocalBuilder? _slotLocal;
    private LocalBuilder? _inPageLocal;
    private LocalBuilder? _readHostLocal;
    private LocalBuilder? _writeHostLocal;
    private LocalBuilder? _valueLocal;

    private LocalBuilder OffsetLocal => _offsetLocal ??= _il.DeclareLocal(typeof(ulong));

    private LocalBuilder LinearLocal => _linearLocal ??= _il.DeclareLocal(typeof(ulong));

    private LocalBuilder PageLocal => _pageLocal ??= _il.DeclareLocal(typeof(ulong));

    private LocalBuilder SlotLocal => _slotLocal ??= _il.DeclareLocal(typeof(int));

    private LocalBuilder InPageLocal => _inPageLocal ??= _il.DeclareLocal(typeof(int));

    private LocalBuilder ReadHostLocal => _readHostLocal ??= _il.DeclareLocal(typeof(nint));

    private LocalBuilder WriteHostLocal => _writeHostLocal ??= _il.DeclareLocal(typeof(nint));

    private LocalBuilder ValueLocal => _valueLocal ??= _il.DeclareLocal(typeof(ulong));

    /// <summary>
    /// Generates instruction <paramref name="i"/> when it is a memory or stack form this file knows; false leaves it to the
    /// register forms or the interpreter call.
    /// </summary>
    private bool TryEmitMemoryInstruction(int i, ref DecodedInstruction d)
    {
        if (!MemoryFormFits(in d))
        {
            return TryEmitWordAddressedInstruction(i, ref d) || TryEmitRepString(i, ref d);
        }

        switch (d.Op)
        {
            case Op.Load32: EmitLoad(i, ref d, 4, signExtend: false); return true;
            case Op.LoadZx8: EmitLoad(i, ref d, 1, signExtend: false); return true;
            case Op.LoadZx16: EmitLoad(i, ref d, 2, signExtend: false); return true;
            case Op.LoadSx8: EmitLoad(i, ref d, 1, signExtend: true); return true;
            case Op.LoadSx16: EmitLoad(i, ref d, 2, signExtend: true); return true;
            case Op.LoadLong: EmitLoad(i, ref d, d.OpSize, signExtend: false); return true;
            case Op.LoadZxLong: EmitLoad(i, ref d, d.Size1, signExtend: false); return true;
            case Op.LoadSxLong: EmitLoad(i, ref d, d.Size1, signExtend: true); return true;
            case Op.Load8:
            case Op.Load8Long:
                EmitLoad(i, ref d, 1, signExtend: false);
                return true;
            case Op.Store32: EmitStore(i, ref d, 4); return true;
            case Op.Store8: EmitStore(i, ref d, 1); return true;
            case Op.Store16: EmitStore(i, ref d, 2); return true;
            case Op.StoreLong:
            case Op.StoreNarrowLong:
                EmitStore(i, ref d, d.OpSize);
                return true;
            case Op.AddLoad32 or Op.AddLoadLong: EmitAluLoad(i, ref d, OpCodes.Add, LazyOp.Add, writesBack: true); return true;
            case Op.SubLoad32 or Op.SubLoadLong: EmitAluLoad(i, ref d, OpCodes.Sub, LazyOp.Sub, writesBack: true); return true;
            case Op.CmpLoad32 or Op.CmpLoadLong: EmitAluLoad(i, ref d, OpCodes.Sub, LazyOp.Sub, writesBack: false); return true;
            case Op.AndLoad32 or Op.AndLoadLong: EmitAluLoad(i, ref d, OpCodes.And, LazyOp.Logic, writesBack: true); return true;
            case Op.OrLoad32 or Op.OrLoadLong: EmitAluLoad(i, ref d, OpCodes.Or, LazyOp.Logic, writesBack: true); return true;
            case Op.XorLoad32 or Op.XorLoadLong: EmitAluLoad(i, ref d, OpCodes.Xor, LazyOp.Logic, writesBack: true); return true;
            case Op.AddMem32 or Op.AddMemLong or Op.Add: EmitAluMemory(i, ref d, OpCodes.Add, LazyOp.Add, writesBack: true); return true;
            case Op.SubMem32 or Op.SubMemLong or Op.Sub: EmitAluMemory(i, ref d, OpCodes.Sub, LazyOp.Sub, writesBack: true); return true;
            case Op.CmpMem32 or Op.CmpMemLong or Op.Cmp: EmitAluMemory(i, ref d, OpCodes.Sub, LazyOp.Sub, writesBack: false); return true;
            case Op.And: EmitAluMemory(i, ref d, OpCodes.And, LazyOp.Logic, writesBack: true); return true;
            case Op.Or: EmitAluMemory(i, ref d, OpCodes.Or, LazyOp.Logic, writesBack: true); return true;
            case Op.Xor: EmitAluMemory(i, ref d, OpCodes.Xor, LazyOp.Logic, writesBack: true); return true;
            case Op.Test: EmitAluMemory(i, ref d, OpCodes.And, LazyOp.Logic, writesBack: false); return true;
            case Op.IncMem32 or Op.IncMemLong: EmitIncDecMemory(i, ref d, increment: true); return true;
            case Op.DecMem32 or Op.DecMemLong: EmitIncDecMemory(i, ref d, increment: false); return true;
            case Op.Push: EmitPush(i, ref d); return true;
            case Op.Pop: EmitPop(i, ref d); return true;
            case Op.CallRel: EmitCallRel(i, ref d); return true;
            case Op.RetNear: EmitRetNear(i, ref d); return true;
            default: return false;
        }
    }

    /// <summary>
    /// Whether the instruction is one of the forms generated here: the interpreter's memory fast forms (whose translation
    /// already picked a 32-bit address outside 64-bit mode or a 64-bit address in it), ADD..TEST with a memory destination
    /// and the same addressing, and PUSH/POP of a register, PUSH imm, CALL rel and RET at the stack width of the mode.
    /// </summary>
    private bool MemoryFormFits(in DecodedInstruction d)
    {
        // The fast forms' addressing, as the translator chose them (InstructionTranslator.SelectMemoryFastForm and
        // SelectLongMemoryFastForm); RIP-relative operands exist only in 64-bit addressing.
        bool addressing = _code64 ? d.AddrSize == 8 : d.AddrSize == 4 && d.Base != DecodedInstruction.RipRegister;
        int stackSize = _code64 ? 8 : 4;
        return d.Op switch
        {
            >= Op.Load32 and <= Op.DecMem32 => !_code64 && addressing,
            >= Op.LoadLong and <= Op.CmpMemLong => _code64 && addressing,
            >= Op.LoadZxLong and <= Op.DecMemLong => _code64 && addressing,
            Op.Add or Op.Sub or Op.Cmp or Op.And or Op.Or or Op.Xor or Op.Test =>
                addressing && d.Kind0 == OperandKind.Memory && d.Kind1 is OperandKind.Register or OperandKind.Immediate
                && (d.OpSize == 4 || (_code64 && d.OpSize == 8)),
            Op.Push => StackSizeFits(d.OpSize, stackSize) && d.Kind0 is OperandKind.Register or OperandKind.Immediate,
            Op.Pop => StackSizeFits(d.OpSize, stackSize) && d.Kind0 == OperandKind.Register,

            // They end the block, so they are its last instruction (BlockCompiler.Compile rejects anything else).
            Op.CallRel or Op.RetNear => StackSizeFits(d.OpSize, stackSize) && d.Kind0 is OperandKind.Immediate or OperandKind.None,
            _ => false,
        };
    }

    /// <summary>MOV r, m and MOVZX/MOVSX r, m (and MOV r8, m8): the value read, extended, into the register's local.</summary>
    private void EmitLoad(int i, ref DecodedInstruction d, int size, bool signExtend)
    {
        EmitEffectiveAddress(i, ref d);
        SlowPath slow = BeginSlowPath(i);
        EmitProbe(d.Seg, size, read: true, write: false, slow.Entry);
        LoadFromHost(ReadHostLocal, size, signExtend);
        if (d.Op is Op.Load8 or Op.Load8Long)
        {
            _il.Emit(OpCodes.Stloc, ValueLocal);
            StoreByteRegister(d.Reg0);
        }
        else
        {
            // Load32 and the 32-bit forms zero-extend into the 64-bit register as WriteRegister does.
            StoreRegister(d.Reg0, d.Op is Op.Load32 or Op.LoadZx8 or Op.LoadZx16 or Op.LoadSx8 or Op.LoadSx16 ? 4 : d.OpSize);
        }

        EndSlowPath(slow);
    }

    /// <summary>MOV m, r/imm.</summary>
    private void EmitStore(int i, ref DecodedInstruction d, int size)
    {
        EmitEffectiveAddress(i, ref d);
        SlowPath slow = BeginSlowPath(i);
        EmitProbe(d.Seg, size, read: false, write: true, slow.Entry);
        _il.Emit(OpCodes.Ldloc, WriteHostLocal);
        LoadSource(ref d, size);
        StoreToHost(size);
        EndSlowPath(slow);
    }

    /// <summary>ADD..XOR r, m: as <see cref="EmitAluRegister"/> with the source read from memory.</summary>
    private void EmitAluLoad(int i, ref DecodedInstruction d, OpCode operation, LazyOp flags, bool writesBack)
    {
        ILGenerator il = _il;
        int size = d.OpSize;
        EmitEffectiveAddress(i, ref d);
        SlowPath slow = BeginSlowPath(i);
        EmitProbe(d.Seg, size, read: true, write: false, slow.Entry);
        bool recordsOperands = flags != LazyOp.Logic;
        LocalBuilder dst = recordsOperands ? _lazyDst : _temp0;
        LocalBuilder src = recordsOperands ? _lazySrc : _temp1;
        LoadRegister(d.Reg0, size);
        il.Emit(OpCodes.Stloc, dst);
        LoadFromHost(ReadHostLocal, size, signExtend: false);
        il.Emit(OpCodes.Stloc, src);
        il.Emit(OpCodes.Ldloc, dst);
        il.Emit(OpCodes.Ldloc, src);
        il.Emit(operation);
        il.Emit(OpCodes.Stloc, _lazyRes);
        if (writesBack)
        {
            il.Emit(OpCodes.Ldloc, _lazyRes);
            StoreRegister(d.Reg0, size);
        }

        SetFlagsRecord(flags, size);
        EndSlowPath(slow);
    }

    /// <summary>ADD..TEST m, r/imm: read, operate, and (but for CMP and TEST) write back through the write TLB.</summary>
    private void EmitAluMemory(int i, ref DecodedInstruction d, OpCode operation, LazyOp flags, bool writesBack)
    {
        ILGenerator il = _il;
        int size = d.OpSize;
        EmitEffectiveAddress(i, ref d);
        SlowPath slow = BeginSlowPath(i);

        // Both probes before anything changes: a page the write TLB does not hold (read-only, code, dirty tracking) takes
        // the slow path for the whole instruction, so a write fault leaves the read unobserved, as in the interpreter.
        EmitProbe(d.Seg, size, read: true, write: writesBack, slow.Entry);
        bool recordsOperands = flags != LazyOp.Logic;
        LocalBuilder dst = recordsOperands ? _lazyDst : _temp0;
        LocalBuilder src = recordsOperands ? _lazySrc : _temp1;
        LoadFromHost(ReadHostLocal, size, signExtend: false);
        il.Emit(OpCodes.Stloc, dst);
        LoadSource(ref d, size);
        il.Emit(OpCodes.Stloc, src);
        il.Emit(OpCodes.Ldloc, dst);
        il.Emit(OpCodes.Ldloc, src);
        il.Emit(operation);
        il.Emit(OpCodes.Stloc, _lazyRes);
        if (writesBack)
        {
            il.Emit(OpCodes.Ldloc, WriteHostLocal);
            il.Emit(OpCodes.Ldloc, _lazyRes);
            StoreToHost(size);
        }

        SetFlagsRecord(flags, size);
        EndSlowPath(slow);
    }

    /// <summary>INC/DEC m: as <see cref="EmitIncDec"/> (CF folded from the previous record) on the memory operand.</summary>
    private void EmitIncDecMemory(int i, ref DecodedInstruction d, bool increment)
    {
        ILGenerator il = _il;
        int size = d.OpSize;
        EmitEffectiveAddress(i, ref d);
        SlowPath slow = BeginSlowPath(i);
        EmitProbe(d.Seg, size, read: true, write: true, slow.Entry);
        LoadFromHost(ReadHostLocal, size, signExtend: false);
        il.Emit(OpCodes.Stloc, _temp0);
        EmitFoldCarryIntoEflags();

        il.Emit(OpCodes.Ldloc, _temp0);
        il.Emit(OpCodes.Stloc, _lazyDst);
        il.Emit(OpCodes.Ldc_I8, 1L);
        il.Emit(OpCodes.Stloc, _lazySrc);
        il.Emit(OpCodes.Ldloc, _temp0);
        il.Emit(OpCodes.Ldc_I8, 1L);
        il.Emit(increment ? OpCodes.Add : OpCodes.Sub);
        il.Emit(OpCodes.Stloc, _lazyRes);
        il.Emit(OpCodes.Ldloc, WriteHostLocal);
        il.Emit(OpCodes.Ldloc, _lazyRes);
        StoreToHost(size);
        SetFlagsRecord(increment ? LazyOp.Inc : LazyOp.Dec, size);
        EndSlowPath(slow);
    }

    /// <summary>PUSH r/imm (Cpu.Push, Cpu.Push64): the value, then the decremented stack pointer, written only after the store.</summary>
    private void EmitPush(int i, ref DecodedInstruction d)
    {
        ILGenerator il = _il;
        int size = d.OpSize;
        SlowPath slow = BeginSlowPath(i);
        EmitStackWidthCheck(size, slow.Entry);

        // PUSH ESP pushes the value before the decrement (Intel SDM Vol. 2B, PUSH).
        if (d.Kind0 == OperandKind.Immediate)
        {
            il.Emit(OpCodes.Ldc_I8, (long)d.Imm);
        }
        else
        {
            LoadRegister(d.Reg0, size);
        }

        il.Emit(OpCodes.Stloc, ValueLocal);
        EmitPushValue(size, slow.Entry);
        EndSlowPath(slow);
    }

    /// <summary>POP r (Cpu.ExecutePop, ExecutePop64): the stack pointer is incremented first, so POP ESP keeps the popped value.</summary>
    private void EmitPop(int i, ref DecodedInstruction d)
    {
        ILGenerator il = _il;
        int size = d.OpSize;
        SlowPath slow = BeginSlowPath(i);
        EmitStackWidthCheck(size, slow.Entry);
        LoadRegister(Mem.StackRegister, size);
        il.Emit(OpCodes.Stloc, OffsetLocal);
        EmitProbe(Mem.StackSegment, size, read: true, write: false, slow.Entry);
        LoadFromHost(ReadHostLocal, size, signExtend: false);
        il.Emit(OpCodes.Stloc, ValueLocal);
        il.Emit(OpCodes.Ldloc, OffsetLocal);
        il.Emit(OpCodes.Ldc_I8, (long)size);
        il.Emit(OpCodes.Add);
        StoreRegister(Mem.StackRegister, size);
        il.Emit(OpCodes.Ldloc, ValueLocal);
        StoreRegister(d.Reg0, size);
        EndSlowPath(slow);
    }

    /// <summary>
    /// CALL rel (Cpu.ExecuteCallRel), the block's last instruction: everything written back first (the block ends here),
    /// the target checked as Cpu.TryNearTarget checks it, the return address pushed, EIP set.
    /// </summary>
    private void EmitCallRel(int i, ref DecodedInstruction d)
    {
        ILGenerator il = _il;
        int size = d.OpSize;
        WriteBack(i, updateState: true);
        SlowPath slow = BeginSlowPath(i);
        EmitStackWidthCheck(size, slow.Entry);
        LoadRipAfter(i);
        il.Emit(OpCodes.Ldc_I8, (long)d.Imm);
        il.Emit(OpCodes.Add);
        il.Emit(OpCodes.Stloc, _temp1);
        EmitNearTargetCheck(_temp1, size, slow.Entry);
        LoadRipAfter(i);
        il.Emit(OpCodes.Stloc, ValueLocal);
        EmitPushValue(size, slow.Entry);
        il.Emit(OpCodes.Ldloc, _ctx);
        il.Emit(OpCodes.Ldloc, _temp1);
        il.Emit(OpCodes.Stfld, M.Rip);
        EndSlowPath(slow);
    }

    /// <summary>RET and RET imm16 (Cpu.ExecuteRetNear, RetNear64), the block's last instruction: the target read and checked, then ESP and EIP set.</summary>
    private void EmitRetNear(int i, ref DecodedInstruction d)
    {
        ILGenerator il = _il;
        int size = d.OpSize;
        WriteBack(i, updateState: true);
        SlowPath slow = BeginSlowPath(i);
        EmitStackWidthCheck(size, slow.Entry);
        LoadRegister(Mem.StackRegister, size);
        il.Emit(OpCodes.Stloc, OffsetLocal);
        EmitProbe(Mem.StackSegment, size, read: true, write: false, slow.Entry);
        LoadFromHost(ReadHostLocal, size, signExtend: false);
        il.Emit(OpCodes.Stloc, _temp1);
        EmitNearTargetCheck(_temp1, size, slow.Entry);
        il.Emit(OpCodes.Ldloc, OffsetLocal);
        il.Emit(OpCodes.Ldc_I8, (long)size + (d.Kind0 == OperandKind.Immediate ? (long)d.Imm : 0));
        il.Emit(OpCodes.Add);
        StoreRegister(Mem.StackRegister, size);
        il.Emit(OpCodes.Ldloc, _ctx);
        il.Emit(OpCodes.Ldloc, _temp1);
        il.Emit(OpCodes.Stfld, M.Rip);
        EndSlowPath(slow);
    }

    /// <summary>Pushes ValueLocal: the stack pointer less the size (wrapping at the stack width), probed, stored, then ESP/RSP set.</summary>
    private void EmitPushValue(int size, Label slow)
    {
        ILGenerator il = _il;
        LoadRegister(Mem.StackRegister, size);
        il.Emit(OpCodes.Ldc_I8, (long)size);
        il.Emit(OpCodes.Sub);
        if (size == 4)
        {
            il.Emit(OpCodes.Conv_U4);
            il.Emit(OpCodes.Conv_U8);
        }
        else if (size == 2)
        {
            il.Emit(OpCodes.Conv_U2);
            il.Emit(OpCodes.Conv_U8);
        }

        il.Emit(OpCodes.Stloc, OffsetLocal);
        EmitProbe(Mem.StackSegment, size, read: false, write: true, slow);
        il.Emit(OpCodes.Ldloc, WriteHostLocal);
        il.Emit(OpCodes.Ldloc, ValueLocal);
        StoreToHost(size);
        il.Emit(OpCodes.Ldloc, OffsetLocal);
        StoreRegister(Mem.StackRegister, size);
    }

    /// <summary>
    /// Outside 64-bit mode 32-bit stack operations are generated for a 32-bit stack (SS.B set) and 16-bit ones for a 16-bit
    /// stack (SS.B clear: SP only, wrapping at 64 KiB, Cpu.SetStackPointer); any other pairing takes the slow path.
    /// </summary>
    private void EmitStackWidthCheck(int size, Label slow)
    {
        if (!_code64)
        {
            _il.Emit(OpCodes.Ldloc, _ctx);
            _il.Emit(OpCodes.Ldfld, Mem.Stack32);
            _il.Emit(size == 2 ? OpCodes.Brtrue : OpCodes.Brfalse, slow);
        }
    }

    /// <summary>
    /// Cpu.TryNearTarget for the operand size: a 16- or 32-bit target (truncated here) within the CS limit, a
    /// 64-bit one canonical; else the slow path, where the interpreter raises the #GP.
    /// </summary>
    private void EmitNearTargetCheck(LocalBuilder target, int size, Label slow)
    {
        ILGenerator il = _il;
        if (_code64)
        {
            il.Emit(OpCodes.Ldloc, target);
            il.Emit(OpCodes.Ldc_I4, 64 - Cpu.LinearAddressBits);
            il.Emit(OpCodes.Shl);
            il.Emit(OpCodes.Ldc_I4, 64 - Cpu.LinearAddressBits);
            il.Emit(OpCodes.Shr);
            il.Emit(OpCodes.Ldloc, target);
            il.Emit(OpCodes.Bne_Un, slow);
            return;
        }

        il.Emit(OpCodes.Ldloc, target);
        il.Emit(size == 2 ? OpCodes.Conv_U2 : OpCodes.Conv_U4);
        il.Emit(OpCodes.Conv_U8);
        il.Emit(OpCodes.Dup);
        il.Emit(OpCodes.Stloc, target);
        il.Emit(OpCodes.Ldloc, _ctx);
        il.Emit(OpCodes.Ldfld, Mem.SegLimit);
        il.Emit(OpCodes.Ldc_I4, Mem.CodeSegment);
        il.Emit(OpCodes.Ldelem_U4);
        il.Emit(OpCodes.Conv_U8);
        il.Emit(OpCodes.Bgt_Un, slow);
    }

    /// <summary>
    /// Computes the effective address into OffsetLocal as Cpu.EffectiveAddress32 (wrapping at 32 bits) or
    /// Cpu.EffectiveAddress64 (RIP-relative: the next instruction's RIP).
    /// </summary>
    private void EmitEffectiveAddress(int i, ref DecodedInstruction d)
    {
        ILGenerator il = _il;
        if (!_code64)
        {
            EmitAddressSum32(ref d);
            EmitWordAddressWrap(ref d);
            il.Emit(OpCodes.Conv_U8);
        }
        else
        {
            EmitAddressSum64(i, ref d);
        }

        il.Emit(OpCodes.Stloc, OffsetLocal);
    }

    /// <summary>
    /// The fast forms' probe (Cpu.TryReadFast/WriteFast, TryReadFast64/WriteFast64) for the offset in OffsetLocal: the
    /// segment's read and/or write bound (not in 64-bit mode), the linear address, the access within one page, and a hit
    /// in the read and/or write TLB, whose host pointers land in ReadHostLocal and WriteHostLocal. Any failure branches to
    /// <paramref name="slow"/>. A non-canonical 64-bit address never hits: only the slow path fills the TLB.
    /// </summary>
    private void EmitProbe(int segment, int size, bool read, bool write, Label slow)
    {
        ILGenerator il = _il;
        if (!_code64)
        {
            if (read)
            {
                EmitBoundCheck(Mem.SegReadEnd, segment, size, slow);
            }

            if (write)
            {
                EmitBoundCheck(Mem.SegWriteEnd, segment, size, slow);
            }
        }

        EmitLinear(segment);
        EmitStoreLinearPageAndSlot();

        // The access must end within the page: a page-crossing one goes byte by byte through the slow path.
        il.Emit(OpCodes.Ldloc, InPageLocal);
        il.Emit(OpCodes.Ldc_I4, (int)Mem.PageSize - size);
        il.Emit(OpCodes.Bgt_Un, slow);
        if (read)
        {
            EmitTlbLookup(Mem.ReadTag, Mem.ReadHost, ReadHostLocal, slow);
        }

        if (write)
        {
            EmitTlbLookup(Mem.WriteTag, Mem.WriteHost, WriteHostLocal, slow);
        }
    }

    /// <summary>offset + size beyond the segment's precomputed bound: the slow path (limit faults, expand-down segments).</summary>
    private void EmitBoundCheck(System.Reflection.FieldInfo bound, int segment, int size, Label slow)
    {
        ILGenerator il = _il;
        il.Emit(OpCodes.Ldloc, OffsetLocal);
        il.Emit(OpCodes.Ldc_I8, (long)size);
        il.Emit(OpCodes.Add);
        il.Emit(OpCodes.Ldloc, _ctx);
        il.Emit(OpCodes.Ldfld, bound);
        il.Emit(OpCodes.Ldc_I4, segment);
        il.Emit(OpCodes.Ldelem_I8);
        il.Emit(OpCodes.Bgt_Un, slow);
    }

    private void LoadSegmentBase(int segment)
    {
        _il.Emit(OpCodes.Ldloc, _ctx);
        _il.Emit(OpCodes.Ldfld, Mem.SegBase);
        _il.Emit(OpCodes.Ldc_I4, segment);
        _il.Emit(OpCodes.Ldelem_I8);
    }

    /// <summary>The TLB tag of the page's slot must be the page number + 1 (zero is an empty slot); then host = the slot's page + offset.</summary>
    private void EmitTlbLookup(System.Reflection.FieldInfo tags, System.Reflection.FieldInfo hosts, LocalBuilder host, Label slow)
    {
        ILGenerator il = _il;
        il.Emit(OpCodes.Ldarg_0);
        il.Emit(OpCodes.Ldfld, tags);
        il.Emit(OpCodes.Ldloc, SlotLocal);
        il.Emit(OpCodes.Ldelem_I8);
        il.Emit(OpCodes.Ldloc, PageLocal);
        il.Emit(OpCodes.Ldc_I8, 1L);
        il.Emit(OpCodes.Add);
        il.Emit(OpCodes.Bne_Un, slow);
        il.Emit(OpCodes.Ldarg_0);
        il.Emit(OpCodes.Ldfld, hosts);
        il.Emit(OpCodes.Ldloc, SlotLocal);
        il.Emit(OpCodes.Ldelem_I);
        il.Emit(OpCodes.Ldloc, InPageLocal);
        il.Emit(OpCodes.Conv_I);
        il.Emit(OpCodes.Add);
        il.Emit(OpCodes.Stloc, host);
    }

    /// <summary>Pushes the value at the host pointer (an unsigned long; zero- or sign-extended from <paramref name="size"/>), as Cpu.LoadFromHost.</summary>
    private void LoadFromHost(LocalBuilder host, int size, bool signExtend)
    {
        ILGenerator il = _il;
        il.Emit(OpCodes.Ldloc, host);
        if (size > 1)
        {
            il.Emit(OpCodes.Unaligned, (byte)1);
        }

        switch (size)
        {
            case 1:
                il.Emit(signExtend ? OpCodes.Ldind_I1 : OpCodes.Ldind_U1);
                break;
            case 2:
                il.Emit(signExtend ? OpCodes.Ldind_I2 : OpCodes.Ldind_U2);
                break;
            case 4:
                il.Emit(signExtend ? OpCodes.Ldind_I4 : OpCodes.Ldind_U4);
                break;
            default:
                il.Emit(OpCodes.Ldind_I8);
                return;
        }

        il.Emit(signExtend ? OpCodes.Conv_I8 : OpCodes.Conv_U8);
    }

    /// <summary>Stores the value on the stack (an unsigned long) at the host pointer below it, as Cpu.StoreToHost.</summary>
    private void StoreToHost(int size)
    {
        ILGenerator il = _il;
        if (size > 1)
        {
            il.Emit(OpCodes.Unaligned, (byte)1);
        }

        il.Emit(size switch
        {
            1 => OpCodes.Stind_I1,
            2 => OpCodes.Stind_I2,
            4 => OpCodes.Stind_I4,
            _ => OpCodes.Stind_I8,
        });
    }

    /// <summary>Pushes operand 1 (an immediate or a register, Cpu.ReadRegister with AH-BH for bytes) as an unsigned long.</summary>
    private void LoadSource(ref DecodedInstruction d, int size)
    {
        if (d.Kind1 == OperandKind.Immediate)
        {
            _il.Emit(OpCodes.Ldc_I8, (long)d.Imm);
        }
        else if (size == 1 && (uint)(d.Reg1 - 4) < 4)
        {
            LoadRegister(d.Reg1 - 4, 8);
            _il.Emit(OpCodes.Ldc_I4_8);
            _il.Emit(OpCodes.Shr_Un);
        }
        else
        {
            LoadRegister(d.Reg1, size is 2 or 8 ? size : 4);
        }
    }

    /// <summary>Cpu.WriteRegister of a byte: ValueLocal's low byte into AL..BL (or AH..BH for 4-7, the low byte of 8-15 and SPL..DIL).</summary>
    private void StoreByteRegister(int register)
    {
        ILGenerator il = _il;
        bool high = (uint)(register - 4) < 4;
        int r = high ? register - 4 : register;
        LoadRegister(r, 8);
        il.Emit(OpCodes.Ldc_I8, high ? ~0xFF00L : ~0xFFL);
        il.Emit(OpCodes.And);
        il.Emit(OpCodes.Ldloc, ValueLocal);
        il.Emit(OpCodes.Ldc_I8, 0xFFL);
        il.Emit(OpCodes.And);
        if (high)
        {
            il.Emit(OpCodes.Ldc_I4_8);
            il.Emit(OpCodes.Shl);
        }

        il.Emit(OpCodes.Or);
        StoreRegister(r, 8);
    }

    /// <summary>The compile-time view after an instruction that left a lazy-flag record in the locals.</summary>
    private void SetFlagsRecord(LazyOp flags, int size)
    {
        _flagsOp = flags;
        _flagsSize = size;
        _flagsOpResultDirty = true;
        _flagsOperandsDirty |= flags != LazyOp.Logic;
    }

    /// <summary>Starts an instruction with a slow path: the view before its first branch is what the slow path writes back.</summary>
    private SlowPath BeginSlowPath(int i) => new(i, _il.DefineLabel(), _il.DefineLabel(), SaveView());

    /// <summary>Ends the straight path of an instruction (its slow path leaves the method, it does not rejoin).</summary>
    private void EndSlowPath(SlowPath slow)
    {
        _il.MarkLabel(slow.Done);
        _slowPaths.Add(slow);
    }

    /// <summary>
    /// Emits every slow path after the body: a side exit at the instruction (BlockEmitter.SideExit.cs), which writes back
    /// the state before it and runs the rest of the block in the interpreter, where faults, TLB fills and self-modifying
    /// code are the interpreter's doing.
    /// </summary>
    private void EmitSlowPaths()
    {
        ILGenerator il = _il;
        foreach (SlowPath slow in _slowPaths)
        {
            il.MarkLabel(slow.Entry);
            RestoreView(slow.Before);
            EmitSideExit(slow.Index);
        }
    }

    private EmitterView SaveView() =>
        new((RegisterState[])_registerStates.Clone(), _flagsOp, _flagsSize, _flagsOpResultDirty, _flagsOperandsDirty, _ripStoredFor);

    private void RestoreView(EmitterView view)
    {
        view.Registers.CopyTo(_registerStates, 0);
        _flagsOp = view.FlagsOp;
        _flagsSize = view.FlagsSize;
        _flagsOpResultDirty = view.FlagsOpResultDirty;
        _flagsOperandsDirty = view.FlagsOperandsDirty;
        _ripStoredFor = view.RipStoredFor;
    }

    /// <summary>What the emitter knows at one point of the straight path: which locals are loaded or newer than the state.</summary>
    private readonly record struct EmitterView(
        RegisterState[] Registers, LazyOp? FlagsOp, int FlagsSize, bool FlagsOpResultDirty, bool FlagsOperandsDirty, int RipStoredFor);

    /// <summary>One instruction's slow path: its index, its entry and end labels, and the view before it.</summary>
    private sealed class SlowPath(int index, Label entry, Label done, EmitterView before)
    {
        public int Index { get; } = index;

        public Label Entry { get; } = entry;

        public Label Done { get; } = done;

        public EmitterView Before { get; } = before;
    }

    /// <summary>
    /// Pushes the linear address of the offset in <see cref="OffsetLocal"/>: outside 64-bit mode the segment's base plus
    /// the offset, wrapped to 32 bits; in 64-bit mode only FS and GS add a base (Intel SDM Vol. 3A, 3.2.4), the other
    /// segments' bases count as zero.
    /// </summary>
    private void EmitLinear(int segment)
    {
        if (!_code64)
        {
            LoadSegmentBase(segment);
            _il.Emit(OpCodes.Ldloc, OffsetLocal);
            _il.Emit(OpCodes.Add);
            _il.Emit(OpCodes.Conv_U4);
            _il.Emit(OpCodes.Conv_U8);
        }
        else if (segment >= Mem.FirstBasedSegment64)
        {
            LoadSegmentBase(segment);
            _il.Emit(OpCodes.Ldloc, OffsetLocal);
            _il.Emit(OpCodes.Add);
        }
        else
        {
            _il.Emit(OpCodes.Ldloc, OffsetLocal);
        }
    }

    /// <summary>
    /// Stores the linear address on the stack in <see cref="LinearLocal"/>, and its page number, software-TLB slot and
    /// offset within the page in <see cref="PageLocal"/>, <see cref="SlotLocal"/> and <see cref="InPageLocal"/> (the
    /// lookup of Cpu.FastMemory.cs).
    /// </summary>
    private void EmitStoreLinearPageAndSlot()
    {
        ILGenerator il = _il;
        il.Emit(OpCodes.Stloc, LinearLocal);
        il.Emit(OpCodes.Ldloc, LinearLocal);
        il.Emit(OpCodes.Ldc_I4, Mem.PageShift);
        il.Emit(OpCodes.Shr_Un);
        il.Emit(OpCodes.Stloc, PageLocal);
        il.Emit(OpCodes.Ldloc, PageLocal);
        il.Emit(OpCodes.Conv_I4);
        il.Emit(OpCodes.Ldc_I4, Mem.TlbEntries - 1);
        il.Emit(OpCodes.And);
        il.Emit(OpCodes.Stloc, SlotLocal);
        il.Emit(OpCodes.Ldloc, LinearLocal);
        il.Emit(OpCodes.Conv_I4);
        il.Emit(OpCodes.Ldc_I4, (int)Mem.PageMask);
        il.Emit(OpCodes.And);
        il.Emit(OpCodes.Stloc, InPageLocal);
    }
}
