using System.Reflection.Emit;
using Virt.Cpu.Decoding;
using A = Virt.Cpu.Cpu.CompiledArithMembers;
using M = Virt.Cpu.Cpu.CompiledTierMembers;

namespace Virt.Cpu;

/// <summary>
/// ADC, SBB, NEG, NOT, IMUL (two- and three-operand) and BT/BTS/BTR/BTC of 16-, 32- and 64-bit registers, as the
/// interpreter's handlers (Cpu.AluOperations.cs, Cpu.Arithmetic.cs, Cpu.Logic.cs, Cpu.FastRegister.cs,
/// Cpu.FastRegister64.cs, Cpu.Shifts.cs), lazy-flag record and EFLAGS included.
/// </summary>
internal sealed partial class BlockEmitter
{
    /// <summary>The carry-in of the ADC/SBB record held in the locals (an int, 0 or 1); the state's LazyCarryIn is written at once.</summary>
    private LocalBuilder? _carryIn;

    /// <summary>The bit number of a bit test whose offset is a register.</summary>
    private LocalBuilder? _bitNumber;

    /// <summary>
    /// ADC/SBB r, r/imm (Cpu.AdcOperation, SbbOperation): CF of the previous record added (subtracted) with the source, an
    /// Adc/Sbb record of which only the parts a later reader needs are kept, and the carry-in, which only ADC and SBB write,
    /// stored in the state at once.
    /// </summary>
    private void EmitAddWithCarry(ref DecodedInstruction d, bool subtract)
    {
        ILGenerator il = _il;
        int size = d.OpSize;
        FlagParts needed = _flagsNeeded[_current];
        bool keepResult = (needed & FlagParts.Result) != 0;
        bool keepOperands = (needed & FlagParts.Operands) != 0;
        LocalBuilder carryIn = _carryIn ??= il.DeclareLocal(typeof(int));
        EmitCarry();
        il.Emit(OpCodes.Stloc, carryIn);
        il.Emit(OpCodes.Ldloc, _ctx);
        il.Emit(OpCodes.Ldloc, carryIn);
        il.Emit(OpCodes.Stfld, A.LazyCarryIn);

        LocalBuilder dst = keepOperands ? _lazyDst : _temp0;
        LocalBuilder src = keepOperands ? _lazySrc : _temp1;
        LocalBuilder res = keepResult ? _lazyRes : _temp0;
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
        OpCode operation = subtract ? OpCodes.Sub : OpCodes.Add;
        il.Emit(OpCodes.Ldloc, dst);
        il.Emit(OpCodes.Ldloc, src);
        il.Emit(operation);
        il.Emit(OpCodes.Ldloc, carryIn);
        il.Emit(OpCodes.Conv_U8);
        il.Emit(operation);
        il.Emit(OpCodes.Stloc, res);
        if (keepResult)
        {
            _flagsOp = subtract ? LazyOp.Sbb : LazyOp.Adc;
            _flagsSize = size;
            _flagsOpResultDirty = true;
        }

        _flagsOperandsDirty |= keepOperands;
        il.Emit(OpCodes.Ldloc, res);
        StoreRegister(d.Reg0, size);
    }

    /// <summary>
    /// Pushes CF of an Adc/Sbb record in the locals (Cpu.GetCarry): with a carry-in, an equal result (ADC) or equal operands
    /// (SBB) carry too.
    /// </summary>
    private void EmitCarryWithCarryIn(long mask)
    {
        ILGenerator il = _il;
        LocalBuilder first = _flagsOp == LazyOp.Adc ? _lazyRes : _lazyDst;
        LocalBuilder second = _flagsOp == LazyOp.Adc ? _lazyDst : _lazySrc;
        LoadMasked(first, mask);
        LoadMasked(second, mask);
        il.Emit(OpCodes.Clt_Un);
        il.Emit(OpCodes.Ldloc, _carryIn ??= il.DeclareLocal(typeof(int)));
        LoadMasked(first, mask);
        LoadMasked(second, mask);
        il.Emit(OpCodes.Ceq);
        il.Emit(OpCodes.And);
        il.Emit(OpCodes.Or);
    }

    /// <summary>NEG r (Cpu.ExecuteNeg): a Sub record of 0 minus the operand.</summary>
    private void EmitNeg(ref DecodedInstruction d)
    {
        ILGenerator il = _il;
        int size = d.OpSize;
        FlagParts needed = _flagsNeeded[_current];
        bool keepResult = (needed & FlagParts.Result) != 0;
        bool keepOperands = (needed & FlagParts.Operands) != 0;
        LocalBuilder src = keepOperands ? _lazySrc : _temp1;
        LocalBuilder res = keepResult ? _lazyRes : _temp0;
        LoadRegister(d.Reg0, size);
        il.Emit(OpCodes.Stloc, src);
        if (keepOperands)
        {
            il.Emit(OpCodes.Ldc_I8, 0L);
            il.Emit(OpCodes.Stloc, _lazyDst);
            _flagsOperandsDirty = true;
        }

        il.Emit(OpCodes.Ldc_I8, 0L);
        il.Emit(OpCodes.Ldloc, src);
        il.Emit(OpCodes.Sub);
        il.Emit(OpCodes.Stloc, res);
        if (keepResult)
        {
            _flagsOp = LazyOp.Sub;
            _flagsSize = size;
            _flagsOpResultDirty = true;
        }

        il.Emit(OpCodes.Ldloc, res);
        StoreRegister(d.Reg0, size);
    }

    /// <summary>NOT r (Cpu.ExecuteNot): no flags.</summary>
    private void EmitNot(ref DecodedInstruction d)
    {
        LoadRegister(d.Reg0, d.OpSize);
        _il.Emit(OpCodes.Not);
        StoreRegister(d.Reg0, d.OpSize);
    }

    /// <summary>
    /// IMUL r, r and IMUL r, r, imm (Cpu.ExecuteImulRegister32, ExecuteImulRegister64, ExecuteImulN for 16 bits): the low
    /// half of the signed product into the destination; CF = OF = the product does not fit; SF, ZF, PF from the low half
    /// and AF clear, stored in EFLAGS with the record left empty (Cpu.SetMultiplyFlags, SetStatusFlags), its other fields
    /// as they were, so the previous record is written back first.
    /// </summary>
    private void EmitImul(ref DecodedInstruction d)
    {
        ILGenerator il = _il;
        int size = d.OpSize;
        int bits = size * 8;
        bool threeOperand = d.Kind2 == OperandKind.Immediate;
        WriteBackFlags(updateState: true);
        _flagsOp = null;

        // Operand a: the source register; b: the immediate or the destination (the 16-bit two-operand form multiplies the
        // destination by the source: the same product).
        LoadRegister(d.Reg1, size);
        il.Emit(OpCodes.Stloc, _temp0);
        if (threeOperand)
        {
            il.Emit(OpCodes.Ldc_I8, (long)d.Imm);
        }
        else
        {
            LoadRegister(d.Reg0, size);
        }

        il.Emit(OpCodes.Stloc, _temp1);
        if (size == 8)
        {
            // The high half from Math.BigMul; overflow when it is not the low half's sign.
            il.Emit(OpCodes.Ldloc, _temp0);
            il.Emit(OpCodes.Ldloc, _temp1);
            il.Emit(OpCodes.Ldloca, _temp1);
            il.Emit(OpCodes.Call, A.BigMulSigned);
            il.Emit(OpCodes.Ldloc, _temp1);
            il.Emit(OpCodes.Ldc_I4, 63);
            il.Emit(OpCodes.Shr);
            il.Emit(OpCodes.Ceq);
            il.Emit(OpCodes.Ldc_I4_0);
            il.Emit(OpCodes.Ceq);
        }
        else
        {
            // Both factors sign-extended from the operand size (the 32-bit immediate from 32 bits): the product fits 64 bits.
            LoadSignExtended(_temp0, size);
            LoadSignExtended(_temp1, size);
            il.Emit(OpCodes.Mul);
            il.Emit(OpCodes.Stloc, _temp1);
            il.Emit(OpCodes.Ldloc, _temp1);
            LoadSignExtended(_temp1, size);
            il.Emit(OpCodes.Ceq);
            il.Emit(OpCodes.Ldc_I4_0);
            il.Emit(OpCodes.Ceq);
        }

        il.Emit(OpCodes.Stloc, _carry);
        il.Emit(OpCodes.Ldloc, _ctx);
        il.Emit(OpCodes.Ldc_I4, (int)LazyOp.None);
        il.Emit(OpCodes.Stfld, M.LazyOperation);

        il.Emit(OpCodes.Ldloc, _ctx);
        il.Emit(OpCodes.Ldloc, _ctx);
        il.Emit(OpCodes.Ldfld, M.Eflags);
        il.Emit(OpCodes.Ldc_I4, unchecked((int)~EflagsBits.Status));
        il.Emit(OpCodes.And);
        il.Emit(OpCodes.Ldloc, _carry);
        il.Emit(OpCodes.Ldc_I4, (int)(EflagsBits.Cf | EflagsBits.Of));
        il.Emit(OpCodes.Mul);
        il.Emit(OpCodes.Or);

        // PF: an even number of set bits in the low byte.
        il.Emit(OpCodes.Ldloc, _temp1);
        il.Emit(OpCodes.Conv_U4);
        il.Emit(OpCodes.Ldc_I4, 0xFF);
        il.Emit(OpCodes.And);
        il.Emit(OpCodes.Call, A.PopCount);
        il.Emit(OpCodes.Ldc_I4_1);
        il.Emit(OpCodes.And);
        il.Emit(OpCodes.Ldc_I4_1);
        il.Emit(OpCodes.Xor);
        il.Emit(OpCodes.Ldc_I4, (int)EflagsBits.Pf);
        il.Emit(OpCodes.Mul);
        il.Emit(OpCodes.Or);

        // ZF and SF of the low half.
        LoadMasked(_temp1, (long)SizeMask(size));
        il.Emit(OpCodes.Ldc_I8, 0L);
        il.Emit(OpCodes.Ceq);
        il.Emit(OpCodes.Ldc_I4, (int)EflagsBits.Zf);
        il.Emit(OpCodes.Mul);
        il.Emit(OpCodes.Or);
        EmitBit(_temp1, bits - 1);
        il.Emit(OpCodes.Ldc_I4, (int)EflagsBits.Sf);
        il.Emit(OpCodes.Mul);
        il.Emit(OpCodes.Or);
        il.Emit(OpCodes.Stfld, M.Eflags);

        il.Emit(OpCodes.Ldloc, _temp1);
        StoreRegister(d.Reg0, size);
    }

    /// <summary>
    /// BT/BTS/BTR/BTC r, r/imm (Cpu.ExecuteBitTest, register operand): the bit number masked to the operand width, CF set
    /// from the bit through Cpu.SetFlag (which folds the record into EFLAGS first), the bit set, cleared or flipped.
    /// </summary>
    private void EmitBitTest(ref DecodedInstruction d)
    {
        ILGenerator il = _il;
        int size = d.OpSize;
        int bits = size * 8;

        // The offset is read before the destination (the same register for BT r, r with equal operands: the same value).
        int constantBit = -1;
        if (d.Kind1 == OperandKind.Immediate)
        {
            constantBit = (int)(d.Imm & (ulong)(bits - 1));
        }
        else
        {
            LoadRegister(d.Reg1, size);
            il.Emit(OpCodes.Conv_I4);
            il.Emit(OpCodes.Ldc_I4, bits - 1);
            il.Emit(OpCodes.And);
            il.Emit(OpCodes.Stloc, _bitNumber ??= il.DeclareLocal(typeof(int)));
        }

        WriteBackFlags(updateState: true);
        il.Emit(OpCodes.Ldarg_0);
        il.Emit(OpCodes.Call, A.GetFlags);
        il.Emit(OpCodes.Pop);
        _flagsOp = null;

        LoadRegister(d.Reg0, size);
        il.Emit(OpCodes.Stloc, _temp0);
        il.Emit(OpCodes.Ldloc, _temp0);
        LoadBitNumber(constantBit);
        il.Emit(OpCodes.Shr_Un);
        il.Emit(OpCodes.Conv_I4);
        il.Emit(OpCodes.Ldc_I4_1);
        il.Emit(OpCodes.And);
        il.Emit(OpCodes.Stloc, _carry);
        BeginStatusFlagsStore(EflagsBits.Cf);
        il.Emit(OpCodes.Stfld, M.Eflags);
        if (d.Op == Op.Bt)
        {
            return;
        }

        il.Emit(OpCodes.Ldloc, _temp0);
        il.Emit(OpCodes.Ldc_I8, 1L);
        LoadBitNumber(constantBit);
        il.Emit(OpCodes.Shl);
        if (d.Op == Op.Btr)
        {
            il.Emit(OpCodes.Not);
            il.Emit(OpCodes.And);
        }
        else
        {
            il.Emit(d.Op == Op.Bts ? OpCodes.Or : OpCodes.Xor);
        }

        StoreRegister(d.Reg0, size);
    }

    private void LoadBitNumber(int constantBit)
    {
        if (constantBit >= 0)
        {
            _il.Emit(OpCodes.Ldc_I4, constantBit);
        }
        else
        {
            _il.Emit(OpCodes.Ldloc, _bitNumber!);
        }
    }
}
