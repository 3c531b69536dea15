using System.Reflection.Emit;
using Virt.Cpu.Decoding;
using M = Virt.Cpu.Cpu.CompiledTierMembers;

namespace Virt.Cpu;

/// <summary>
/// Writes the IL of one block's method for <see cref="BlockCompiler"/> (see its remarks for the design), tracking at
/// compile time what the generated code holds in locals and has not yet written back: guest registers, the lazy-flag
/// record, and EIP with the instruction start.
/// </summary>
internal sealed partial class BlockEmitter
{
    private const int RegisterCount = 16;
    private const int RegisterNumberMask = RegisterCount - 1;

    private readonly ILGenerator _il;
    private readonly DecodedInstruction[] _instructions;
    private readonly int _count;

    /// <summary>The offset of each instruction's first byte from the block's first (and at [count] the block's length).</summary>
    private readonly ulong[] _offsets;

    private readonly LocalBuilder _ctx;
    private readonly LocalBuilder _gpr;
    private readonly LocalBuilder _rip0;
    private readonly LocalBuilder _ipMask;
    private readonly LocalBuilder _instructionArray;
    private readonly LocalBuilder _lazyDst;
    private readonly LocalBuilder _lazySrc;
    private readonly LocalBuilder _lazyRes;
    private readonly LocalBuilder _temp0;
    private readonly LocalBuilder _temp1;
    private readonly LocalBuilder _carry;

    private readonly LocalBuilder?[] _registerLocals = new LocalBuilder?[RegisterCount];
    private readonly RegisterState[] _registerStates = new RegisterState[RegisterCount];

    /// <summary>The kind of the lazy-flag record held in the locals, or null when only the CPU's state has it.</summary>
    private LazyOp? _flagsOp;
    private int _flagsSize;

    /// <summary>LazyOp, LazyRes and LazySize in the locals are newer than the state's.</summary>
    private bool _flagsOpResultDirty;

    /// <summary>LazyDst and LazySrc in the locals are newer than the state's (logic operations leave them as they were).</summary>
    private bool _flagsOperandsDirty;

    /// <summary>The instruction whose EIP and instruction start the state holds (-1: the block's entry EIP, untouched).</summary>
    private int _ripStoredFor = -1;

    /// <summary>Prepares the emitter of one block.</summary>
    /// <param name="il">The method's IL generator.</param>
    /// <param name="block">The block.</param>
    /// <param name="limit">The most instructions to compile (the block's entries never ran further); the rest runs interpreted.</param>
    public BlockEmitter(ILGenerator il, DecodedBlock block, int limit)
    {
        _il = il;
        _instructions = block.Instructions;
        _code64 = (block.Key & DecodeCache.CodeSize64Key) != 0;
        _blockCount = block.Count;
        _count = CompiledLength(_instructions, Math.Min(limit, block.Count));
        _offsets = new ulong[_count + 1];
        for (int i = 0; i < _count; i++)
        {
            _offsets[i + 1] = _offsets[i] + _instructions[i].Length;
        }

        _ctx = il.DeclareLocal(typeof(CpuContext).MakeByRefType());
        _gpr = il.DeclareLocal(typeof(ulong[]));
        _rip0 = il.DeclareLocal(typeof(ulong));
        _ipMask = il.DeclareLocal(typeof(ulong));
        _instructionArray = il.DeclareLocal(typeof(DecodedInstruction[]));
        _lazyDst = il.DeclareLocal(typeof(ulong));
        _lazySrc = il.DeclareLocal(typeof(ulong));
        _lazyRes = il.DeclareLocal(typeof(ulong));
        _temp0 = il.DeclareLocal(typeof(ulong));
        _temp1 = il.DeclareLocal(typeof(ulong));
        _carry = il.DeclareLocal(typeof(int));
        _flagsNeeded = ComputeFlagLiveness(_instructions, _count);
    }

    private enum RegisterState : byte
    {
        /// <summary>Only the CPU's state holds the register.</summary>
        NotLoaded,

        /// <summary>The local equals the state's register.</summary>
        Clean,

        /// <summary>The local is newer than the state's register.</summary>
        Dirty,
    }

    /// <summary>Whether the compiler generates the instruction itself rather than calling the interpreter for it.</summary>
    public static bool IsInlined(in DecodedInstruction d) => d.Op switch
    {
        Op.Nop or Op.Jcc or Op.JmpRel => true,
        Op.MovRegister or Op.AddRegister or Op.SubRegister or Op.CmpRegister or Op.AndRegister or Op.OrRegister or Op.XorRegister
            or Op.TestRegister => d.OpSize is 2 or 4 or 8 && d.Kind1 is OperandKind.Register or OperandKind.Immediate,
        Op.IncRegister or Op.DecRegister => d.OpSize is 2 or 4 or 8,
        Op.Lea => d.OpSize is 2 or 4 or 8 && d.AddrSize is 2 or 4 or 8 && d.Base != DecodedInstruction.RipRegister,
        _ => IsGeneratedRegisterForm(in d),
    };

    /// <summary>Writes the whole method.</summary>
    public void Emit()
    {
        ILGenerator il = _il;

        // Fewer instructions than the compiled part holds (a budget's end, a single step): the interpreter runs them.
        Label full = il.DefineLabel();
        il.Emit(OpCodes.Ldarg_2);
        il.Emit(OpCodes.Ldc_I4, _count);
        il.Emit(OpCodes.Bge, full);
        il.Emit(OpCodes.Ldarg_0);
        il.Emit(OpCodes.Ldarg_1);
        il.Emit(OpCodes.Ldarg_2);
        il.Emit(OpCodes.Call, M.Interpret);
        il.Emit(OpCodes.Ret);
        il.MarkLabel(full);

        il.Emit(OpCodes.Ldarg_0);
        il.Emit(OpCodes.Ldflda, M.Context);
        il.Emit(OpCodes.Stloc, _ctx);
        il.Emit(OpCodes.Ldloc, _ctx);
        il.Emit(OpCodes.Ldfld, M.Gpr);
        il.Emit(OpCodes.Stloc, _gpr);
        il.Emit(OpCodes.Ldloc, _ctx);
        il.Emit(OpCodes.Ldfld, M.Rip);
        il.Emit(OpCodes.Stloc, _rip0);
        il.Emit(OpCodes.Ldloc, _ctx);
        il.Emit(OpCodes.Ldfld, M.IpMask);
        il.Emit(OpCodes.Stloc, _ipMask);
        il.Emit(OpCodes.Ldarg_1);
        il.Emit(OpCodes.Ldfld, M.Instructions);
        il.Emit(OpCodes.Stloc, _instructionArray);
        EmitLoopTop();

        for (int i = 0; i < _count; i++)
        {
            EmitInstruction(i);
        }

        EmitBlockEnd();
        EmitSlowPaths();
    }

    private void EmitInstruction(int i)
    {
        ref DecodedInstruction d = ref _instructions[i];
        _current = i;
        if (TryEmitMemoryInstruction(i, ref d))
        {
            return;
        }

        if (!IsInlined(in d))
        {
            EmitInterpreterCall(i);
            return;
        }

        if (TryEmitRegisterForm(ref d))
        {
            return;
        }

        switch (d.Op)
        {
            case Op.Nop:
                break;
            case Op.MovRegister:
                if (d.Kind1 == OperandKind.Immediate)
                {
                    _il.Emit(OpCodes.Ldc_I8, (long)d.Imm);
                }
                else
                {
                    LoadRegister(d.Reg1, d.OpSize);
                }

                StoreRegister(d.Reg0, d.OpSize);
                break;
            case Op.AddRegister: EmitAluRegister(ref d, OpCodes.Add, LazyOp.Add, writesBack: true); break;
            case Op.SubRegister: EmitAluRegister(ref d, OpCodes.Sub, LazyOp.Sub, writesBack: true); break;
            case Op.CmpRegister: EmitAluRegister(ref d, OpCodes.Sub, LazyOp.Sub, writesBack: false); break;
            case Op.AndRegister: EmitAluRegister(ref d, OpCodes.And, LazyOp.Logic, writesBack: true); break;
            case Op.OrRegister: EmitAluRegister(ref d, OpCodes.Or, LazyOp.Logic, writesBack: true); break;
            case Op.XorRegister: EmitAluRegister(ref d, OpCodes.Xor, LazyOp.Logic, writesBack: true); break;
            case Op.TestRegister: EmitAluRegister(ref d, OpCodes.And, LazyOp.Logic, writesBack: false); break;
            case Op.IncRegister: EmitIncDec(ref d, increment: true); break;
            case Op.DecRegister: EmitIncDec(ref d, increment: false); break;
            case Op.Lea: EmitLea(i, ref d); break;
            case Op.Jcc: EmitJcc(i, ref d); break;
            case Op.JmpRel: EmitJmpRel(i, ref d); break;
            default:
                throw new InvalidOperationException($"The compiled tier lists {d.Op} as generated but has no generator for it.");
        }
    }

    /// <summary>Any instruction the compiler does not generate: write everything back, call the interpreter, test the exit flag.</summary>
    private void EmitInterpreterCall(int i)
    {
        ILGenerator il = _il;
        WriteBack(i, updateState: true);
        il.Emit(OpCodes.Ldarg_0);
        il.Emit(OpCodes.Ldloc, _instructionArray);
        il.Emit(OpCodes.Ldc_I4, i);
        il.Emit(OpCodes.Ldelema, typeof(DecodedInstruction));
        il.Emit(OpCodes.Call, M.ExecuteOne);

        // The interpreter may have changed any register and the flags: the locals are stale now.
        Array.Clear(_registerStates);
        _flagsOp = null;
        if (i < _count - 1)
        {
            Label next = il.DefineLabel();
            il.Emit(OpCodes.Ldarg_0);
            il.Emit(OpCodes.Ldfld, M.ExitBlock);
            il.Emit(OpCodes.Brfalse, next);
            il.Emit(OpCodes.Ldc_I4, i + 1);
            il.Emit(OpCodes.Ret);
            il.MarkLabel(next);
        }
    }

    /// <summary>
    /// ADD..TEST r, r/imm (32 or 64 bits): as Cpu.ExecuteAluRegister with the operation's lazy-flag record, of which only
    /// the parts a later reader needs are kept (see BlockEmitter.Liveness.cs).
    /// </summary>
    private void EmitAluRegister(ref DecodedInstruction d, OpCode operation, LazyOp flags, bool writesBack)
    {
        ILGenerator il = _il;
        int size = d.OpSize;
        FlagParts needed = _flagsNeeded[_current];
        bool keepResult = (needed & FlagParts.Result) != 0;

        // ADD, SUB and CMP record both operands; the logic operations only the result (Cpu.SetLogicFlags).
        bool recordsOperands = flags != LazyOp.Logic && (needed & FlagParts.Operands) != 0;
        if (!writesBack && !keepResult && !recordsOperands)
        {
            // CMP or TEST whose record is overwritten before anything reads it: nothing to do.
            return;
        }

        LocalBuilder dst = recordsOperands ? _lazyDst : _temp0;
        LocalBuilder src = recordsOperands ? _lazySrc : _temp1;
        LoadRegister(d.Reg0, size);
        il.Emit(OpCodes.Stloc, dst);
        if (d.Kind1 == OperandKind.Immediate)
        {
            il.Emit(OpCodes.Ldc_I8, (long)d.Imm);
        }
        else
        {
            LoadRegister(d.Reg1, size);
        }

        il.Emit(OpCodes.Stloc, src);
        if (keepResult || writesBack)
        {
            il.Emit(OpCodes.Ldloc, dst);
            il.Emit(OpCodes.Ldloc, src);
            il.Emit(operation);
            if (keepResult)
            {
                il.Emit(OpCodes.Stloc, _lazyRes);
                if (writesBack)
                {
                    il.Emit(OpCodes.Ldloc, _lazyRes);
                    StoreRegister(d.Reg0, size);
                }
            }
            else
            {
                StoreRegister(d.Reg0, size);
            }
        }

        if (keepResult)
        {
            _flagsOp = flags;
            _flagsSize = size;
            _flagsOpResultDirty = true;
        }

        _flagsOperandsDirty |= recordsOperands;
    }

    /// <summary>
    /// INC/DEC r (32 or 64 bits): CF folded into EFLAGS from the previous record, then an Inc/Dec record (Cpu.SetIncDec) of
    /// which only the parts a later reader needs are kept.
    /// </summary>
    private void EmitIncDec(ref DecodedInstruction d, bool increment)
    {
        ILGenerator il = _il;
        int size = d.OpSize;
        FlagParts needed = _flagsNeeded[_current];
        LoadRegister(d.Reg0, size);
        il.Emit(OpCodes.Stloc, _temp0);
        EmitFoldCarryIntoEflags();

        if ((needed & FlagParts.Operands) != 0)
        {
            il.Emit(OpCodes.Ldloc, _temp0);
            il.Emit(OpCodes.Stloc, _lazyDst);
            il.Emit(OpCodes.Ldc_I8, 1L);
            il.Emit(OpCodes.Stloc, _lazySrc);
            _flagsOperandsDirty = true;
        }

        il.Emit(OpCodes.Ldloc, _temp0);
        il.Emit(OpCodes.Ldc_I8, 1L);
        il.Emit(increment ? OpCodes.Add : OpCodes.Sub);
        if ((needed & FlagParts.Result) != 0)
        {
            il.Emit(OpCodes.Stloc, _lazyRes);
            il.Emit(OpCodes.Ldloc, _lazyRes);
            _flagsOp = increment ? LazyOp.Inc : LazyOp.Dec;
            _flagsSize = size;
            _flagsOpResultDirty = true;
        }

        StoreRegister(d.Reg0, size);
    }

    /// <summary>
    /// EFLAGS.CF = the current record's CF: INC and DEC leave CF alone, so before their record replaces the current one the
    /// carry it holds is folded into EFLAGS, as the interpreter's INC/DEC do.
    /// </summary>
    private void EmitFoldCarryIntoEflags()
    {
        ILGenerator il = _il;
        EmitCarry();
        il.Emit(OpCodes.Stloc, _carry);
        il.Emit(OpCodes.Ldloc, _ctx);
        il.Emit(OpCodes.Ldloc, _ctx);
        il.Emit(OpCodes.Ldfld, M.Eflags);
        il.Emit(OpCodes.Ldc_I4, unchecked((int)~EflagsBits.Cf));
        il.Emit(OpCodes.And);
        il.Emit(OpCodes.Ldloc, _carry);
        il.Emit(OpCodes.Or);
        il.Emit(OpCodes.Stfld, M.Eflags);
    }

    /// <summary>Pushes CF (0 or 1, an int) as Cpu.GetCarry derives it from the current record.</summary>
    private void EmitCarry()
    {
        ILGenerator il = _il;
        long mask = (long)SizeMask(_flagsSize);
        switch (_flagsOp)
        {
            case LazyOp.Add:
                // The sum wrapped: result below the destination.
                LoadMasked(_lazyRes, mask);
                LoadMasked(_lazyDst, mask);
                il.Emit(OpCodes.Clt_Un);
                break;
            case LazyOp.Sub:
                // A borrow: destination below the source.
                LoadMasked(_lazyDst, mask);
                LoadMasked(_lazySrc, mask);
                il.Emit(OpCodes.Clt_Un);
                break;
            case LazyOp.Logic:
                il.Emit(OpCodes.Ldc_I4_0);
                break;
            case LazyOp.Adc:
            case LazyOp.Sbb:
                EmitCarryWithCarryIn(mask);
                break;
            case LazyOp.Inc:
            case LazyOp.Dec:
            case LazyOp.Shift:
                il.Emit(OpCodes.Ldloc, _ctx);
                il.Emit(OpCodes.Ldfld, M.Eflags);
                il.Emit(OpCodes.Ldc_I4, (int)EflagsBits.Cf);
                il.Emit(OpCodes.And);
                break;
            default:
                // The record is only in the state (nothing to write back): ask the CPU.
                il.Emit(OpCodes.Ldarg_0);
                il.Emit(OpCodes.Call, M.GetCarry);
                break;
        }
    }

    /// <summary>LEA r, m (32 or 64 bits, 32- or 64-bit addressing, no RIP base): as Cpu.EffectiveAddress.</summary>
    private void EmitLea(int i, ref DecodedInstruction d)
    {
        ILGenerator il = _il;
        if (d.AddrSize is 2 or 4)
        {
            // Cpu.EffectiveAddress32: the sum wraps at 32 bits and is zero-extended (and cut to 16 bits for 16-bit addressing).
            EmitAddressSum32(ref d);
            if (d.AddrSize == 2)
            {
                il.Emit(OpCodes.Ldc_I4, (int)WordMask);
                il.Emit(OpCodes.And);
            }

            il.Emit(OpCodes.Conv_U8);
        }
        else
        {
            EmitAddressSum64(i, ref d);
        }

        StoreRegister(d.Reg0, d.OpSize);
    }

    /// <summary>Pushes disp + base + index * scale as a 32-bit sum that wraps at 32 bits (Cpu.EffectiveAddress32, before any cut).</summary>
    private void EmitAddressSum32(ref DecodedInstruction d)
    {
        ILGenerator il = _il;
        il.Emit(OpCodes.Ldc_I4, unchecked((int)(uint)d.Disp));
        if (d.Base != DecodedInstruction.NoRegister)
        {
            LoadRegister(d.Base, 8);
            il.Emit(OpCodes.Conv_U4);
            il.Emit(OpCodes.Add);
        }

        if (d.Index != DecodedInstruction.NoRegister)
        {
            LoadRegister(d.Index, 8);
            il.Emit(OpCodes.Conv_U4);
            il.Emit(OpCodes.Ldc_I4, (int)d.Scale);
            il.Emit(OpCodes.Shl);
            il.Emit(OpCodes.Add);
        }
    }

    /// <summary>
    /// Pushes disp + base + index * scale as a 64-bit sum that wraps at 64 bits (Cpu.EffectiveAddress64); a RIP base is the
    /// RIP after instruction <paramref name="i"/>.
    /// </summary>
    private void EmitAddressSum64(int i, ref DecodedInstruction d)
    {
        ILGenerator il = _il;
        il.Emit(OpCodes.Ldc_I8, (long)d.Disp);
        if (d.Base == DecodedInstruction.RipRegister)
        {
            LoadRipAfter(i);
            il.Emit(OpCodes.Add);
        }
        else if (d.Base != DecodedInstruction.NoRegister)
        {
            LoadRegister(d.Base, 8);
            il.Emit(OpCodes.Add);
        }

        if (d.Index != DecodedInstruction.NoRegister)
        {
            LoadRegister(d.Index, 8);
            il.Emit(OpCodes.Ldc_I4, (int)d.Scale);
            il.Emit(OpCodes.Shl);
            il.Emit(OpCodes.Add);
        }
    }

    /// <summary>
    /// Jcc rel: taken, everything is written back, Cpu.JumpNear runs and the block exits; not taken, the block goes on with
    /// its locals as they were. The taken exit does not set the exit flag as the interpreter's loop does (returning is how
    /// the method stops, and the run loop clears the flag anyway): the flag left clear tells the chaining dispatcher that
    /// the block ended in a direct branch, so it may go on into the successor (Cpu.CompiledChaining.cs).
    /// </summary>
    private void EmitJcc(int i, ref DecodedInstruction d)
    {
        ILGenerator il = _il;
        EmitCondition(d.Cond);
        Label notTaken = il.DefineLabel();
        il.Emit(OpCodes.Brfalse, notTaken);
        EmitLoopBackEdge(i, ref d);
        WriteBack(i, updateState: false);
        EmitJumpNear(i, ref d);
        il.Emit(OpCodes.Ldc_I4, i + 1);
        il.Emit(OpCodes.Ret);
        il.MarkLabel(notTaken);
    }

    /// <summary>JMP rel: everything written back, then Cpu.JumpNear (EIP is the target now, or a fault is pending).</summary>
    private void EmitJmpRel(int i, ref DecodedInstruction d)
    {
        EmitLoopBackEdge(i, ref d);
        WriteBack(i, updateState: true);
        EmitJumpNear(i, ref d);
    }

    /// <summary>Calls Cpu.JumpNear with the target the interpreter computes: the next instruction's EIP plus the displacement.</summary>
    private void EmitJumpNear(int i, ref DecodedInstruction d)
    {
        ILGenerator il = _il;
        il.Emit(OpCodes.Ldarg_0);
        LoadRipAfter(i);
        il.Emit(OpCodes.Ldc_I8, (long)d.Imm);
        il.Emit(OpCodes.Add);
        il.Emit(OpCodes.Ldc_I4, (int)d.OpSize);
        il.Emit(OpCodes.Call, M.JumpNear);
    }

    /// <summary>
    /// Pushes the truth of condition <paramref name="cc"/> (an int, 0 or 1). From the locals only where Cpu.Condition reads
    /// the record directly (ZF and SF of any record; the CMP/SUB comparisons); elsewhere the record is written back and
    /// Cpu.Condition called, which may fold the record into EFLAGS, so the locals no longer describe the flags after it.
    /// </summary>
    private void EmitCondition(int cc)
    {
        ILGenerator il = _il;
        if (_flagsOp is LazyOp op)
        {
            long mask = (long)SizeMask(_flagsSize);
            long sign = (long)SignBit(_flagsSize);
            switch (cc)
            {
                case 4:
                case 5:
                    LoadMasked(_lazyRes, mask);
                    il.Emit(OpCodes.Ldc_I8, 0L);
                    il.Emit(OpCodes.Ceq);
                    Invert(cc == 5);
                    return;
                case 8:
                case 9:
                    LoadMasked(_lazyRes, sign);
                    il.Emit(OpCodes.Ldc_I8, 0L);
                    il.Emit(OpCodes.Cgt_Un);
                    Invert(cc == 9);
                    return;
                default:
                    break;
            }

            if (op == LazyOp.Sub && cc is 2 or 3 or 6 or 7)
            {
                LoadMasked(_lazyDst, mask);
                LoadMasked(_lazySrc, mask);
                il.Emit(cc is 2 or 3 ? OpCodes.Clt_Un : OpCodes.Cgt_Un);
                Invert(cc is 3 or 6);
                return;
            }

            if (op == LazyOp.Sub && cc >= 12)
            {
                LoadSigned(_lazyDst);
                LoadSigned(_lazySrc);
                il.Emit(cc is 12 or 13 ? OpCodes.Clt : OpCodes.Cgt);
                Invert(cc is 13 or 14);
                return;
            }
        }

        WriteBackFlags(updateState: true);
        il.Emit(OpCodes.Ldarg_0);
        il.Emit(OpCodes.Ldc_I4, cc);
        il.Emit(OpCodes.Call, M.Condition);
        _flagsOp = null;
    }

    private void Invert(bool invert)
    {
        if (invert)
        {
            _il.Emit(OpCodes.Ldc_I4_0);
            _il.Emit(OpCodes.Ceq);
        }
    }

    private void LoadMasked(LocalBuilder local, long mask)
    {
        _il.Emit(OpCodes.Ldloc, local);
        if (mask != -1)
        {
            _il.Emit(OpCodes.Ldc_I8, mask);
            _il.Emit(OpCodes.And);
        }
    }

    /// <summary>A record operand sign-extended from the record's size (Cpu.SignExtend; only 2, 4 and 8 occur here).</summary>
    private void LoadSigned(LocalBuilder local) => LoadSignExtended(local, _flagsSize);

    /// <summary>Pushes a register's value (as an unsigned long, zero-extended from 32 or 16 bits when <paramref name="size"/> is 4 or 2), loading it into its local on first use.</summary>
    private void LoadRegister(int register, int size)
    {
        int r = register & RegisterNumberMask;
        LocalBuilder local = _registerLocals[r] ??= _il.DeclareLocal(typeof(ulong));
        if (_registerStates[r] == RegisterState.NotLoaded)
        {
            _il.Emit(OpCodes.Ldloc, _gpr);
            _il.Emit(OpCodes.Ldc_I4, r);
            _il.Emit(OpCodes.Ldelem_I8);
            _il.Emit(OpCodes.Stloc, local);
            _registerStates[r] = RegisterState.Clean;
        }

        _il.Emit(OpCodes.Ldloc, local);
        if (size == 4)
        {
            _il.Emit(OpCodes.Conv_U4);
            _il.Emit(OpCodes.Conv_U8);
        }
        else if (size == 2)
        {
            _il.Emit(OpCodes.Conv_U2);
            _il.Emit(OpCodes.Conv_U8);
        }
    }

    /// <summary>Pops a value into a register's local (zero-extended from 32 bits when <paramref name="size"/> is 4, merged into bits 0-15 when 2: Cpu.WriteRegister).</summary>
    private void StoreRegister(int register, int size)
    {
        if (size == 2)
        {
            StoreWordRegister(register);
            return;
        }

        int r = register & RegisterNumberMask;
        LocalBuilder local = _registerLocals[r] ??= _il.DeclareLocal(typeof(ulong));
        if (size == 4)
        {
            _il.Emit(OpCodes.Conv_U4);
            _il.Emit(OpCodes.Conv_U8);
        }

        _il.Emit(OpCodes.Stloc, local);
        _registerStates[r] = RegisterState.Dirty;
    }

    /// <summary>
    /// Writes back to the state what the interpreter would hold after instruction <paramref name="last"/>: dirty registers,
    /// the flag record, EIP and the instruction start. <paramref name="updateState"/> false for a path that leaves the block
    /// (the straight path keeps its own view).
    /// </summary>
    private void WriteBack(int last, bool updateState)
    {
        ILGenerator il = _il;
        for (int r = 0; r < RegisterCount; r++)
        {
            if (_registerStates[r] == RegisterState.Dirty)
            {
                il.Emit(OpCodes.Ldloc, _gpr);
                il.Emit(OpCodes.Ldc_I4, r);
                il.Emit(OpCodes.Ldloc, _registerLocals[r]!);
                il.Emit(OpCodes.Stelem_I8);
                if (updateState)
                {
                    _registerStates[r] = RegisterState.Clean;
                }
            }
        }

        WriteBackFlags(updateState);
        if (_ripStoredFor != last && last >= 0)
        {
            il.Emit(OpCodes.Ldloc, _ctx);
            if (last == 0)
            {
                il.Emit(OpCodes.Ldloc, _rip0);
            }
            else
            {
                LoadRipAfter(last - 1);
            }

            il.Emit(OpCodes.Stfld, M.InstructionStart);
            il.Emit(OpCodes.Ldloc, _ctx);
            LoadRipAfter(last);
            il.Emit(OpCodes.Stfld, M.Rip);
            if (updateState)
            {
                _ripStoredFor = last;
            }
        }
    }

    private void WriteBackFlags(bool updateState)
    {
        ILGenerator il = _il;
        if (_flagsOp is not LazyOp op)
        {
            return;
        }

        if (_flagsOpResultDirty)
        {
            il.Emit(OpCodes.Ldloc, _ctx);
            il.Emit(OpCodes.Ldc_I4, (int)op);
            il.Emit(OpCodes.Stfld, M.LazyOperation);
            il.Emit(OpCodes.Ldloc, _ctx);
            il.Emit(OpCodes.Ldloc, _lazyRes);
            il.Emit(OpCodes.Stfld, M.LazyRes);
            il.Emit(OpCodes.Ldloc, _ctx);
            il.Emit(OpCodes.Ldc_I4, _flagsSize);
            il.Emit(OpCodes.Stfld, M.LazySize);
        }

        if (_flagsOperandsDirty)
        {
            il.Emit(OpCodes.Ldloc, _ctx);
            il.Emit(OpCodes.Ldloc, _lazyDst);
            il.Emit(OpCodes.Stfld, M.LazyDst);
            il.Emit(OpCodes.Ldloc, _ctx);
            il.Emit(OpCodes.Ldloc, _lazySrc);
            il.Emit(OpCodes.Stfld, M.LazySrc);
        }

        if (updateState)
        {
            _flagsOpResultDirty = false;
            _flagsOperandsDirty = false;
        }
    }

    /// <summary>Pushes EIP after instruction <paramref name="i"/>: the entry EIP plus the lengths, masked to the code size as the interpreter masks it.</summary>
    private void LoadRipAfter(int i)
    {
        _il.Emit(OpCodes.Ldloc, _rip0);
        _il.Emit(OpCodes.Ldc_I8, (long)_offsets[i + 1]);
        _il.Emit(OpCodes.Add);
        _il.Emit(OpCodes.Ldloc, _ipMask);
        _il.Emit(OpCodes.And);
    }

    private static ulong SizeMask(int size) => size == 8 ? ulong.MaxValue : (1UL << (size * 8)) - 1;

    private static ulong SignBit(int size) => 1UL << ((size * 8) - 1);
}
