using System.Reflection.Emit;
using Virt.Cpu.Decoding;
using A = Virt.Cpu.Cpu.CompiledArithMembers;
using M = Virt.Cpu.Cpu.CompiledTierMembers;

namespace Virt.Cpu;

/// <summary>
/// SHL/SHR/SAR of a 16-, 32- or 64-bit register by an immediate or CL, and ROL/ROR by an immediate, as Cpu.ExecuteShift and
/// the register forms of Cpu.FastRegister.cs and Cpu.FastRegister64.cs: the count masked to 5 bits (6 with a 64-bit
/// operand), a masked count of 0 changing nothing, flags included (Intel SDM Vol. 2B, SAL/SAR/SHL/SHR, ROL/ROR).
/// </summary>
/// <remarks>
/// A shift stores CF and OF in EFLAGS at once and clears the other status flags there (Cpu.SetShiftFlags), and leaves a
/// Shift record (operation, result, size; the operands stay) from which SF, ZF and PF are derived. EFLAGS is written
/// through at the shift, as INC/DEC's carry fold is: nothing between the shift and any exit changes it otherwise. A count
/// known at compile time is a producer of the record's result part like AND; a CL count may be 0 at run time, so the
/// previous record is written back before it and the shift's own record goes straight to the state.
/// </remarks>
internal sealed partial class BlockEmitter
{
    /// <summary>The bit of OF in EFLAGS, as a shift distance.</summary>
    private const int OverflowShift = 11;

    /// <summary>The masked count of a shift by CL.</summary>
    private LocalBuilder? _shiftCount;

    private enum ShiftKind : byte
    {
        Left,
        Right,
        Arithmetic,
    }

    private static ShiftKind KindOf(Op op) => op switch
    {
        Op.Shl or Op.ShlRegister32 or Op.ShlRegister64 => ShiftKind.Left,
        Op.Shr or Op.ShrRegister32 or Op.ShrRegister64 => ShiftKind.Right,
        _ => ShiftKind.Arithmetic,
    };

    /// <summary>SHL/SHR/SAR r, imm8/1/CL.</summary>
    private void EmitShift(ref DecodedInstruction d)
    {
        if (d.Kind1 != OperandKind.Immediate)
        {
            EmitShiftByCount(ref d);
            return;
        }

        int n = ImmediateShiftCount(in d);
        if (n == 0)
        {
            return;
        }

        ILGenerator il = _il;
        int size = d.OpSize;
        int bits = size * 8;
        ShiftKind kind = KindOf(d.Op);
        bool keepResult = (_flagsNeeded[_current] & FlagParts.Result) != 0;
        LocalBuilder res = keepResult ? _lazyRes : _temp1;
        LoadRegister(d.Reg0, size);
        il.Emit(OpCodes.Stloc, _temp0);

        // The result (Cpu.ExecuteShift: SAR shifts the sign-extended value by at most 63).
        if (kind == ShiftKind.Arithmetic)
        {
            LoadSignExtended(_temp0, size);
            il.Emit(OpCodes.Ldc_I4, Math.Min(n, 63));
            il.Emit(OpCodes.Shr);
        }
        else
        {
            il.Emit(OpCodes.Ldloc, _temp0);
            il.Emit(OpCodes.Ldc_I4, n);
            il.Emit(kind == ShiftKind.Left ? OpCodes.Shl : OpCodes.Shr_Un);
        }

        MaskToSize(size);
        il.Emit(OpCodes.Stloc, res);

        // CF: the last bit shifted out (none when a 16-bit operand is shifted by more than its width).
        switch (kind)
        {
            case ShiftKind.Left when n <= bits:
                EmitBit(_temp0, bits - n);
                break;
            case ShiftKind.Right when n <= bits:
                EmitBit(_temp0, n - 1);
                break;
            case ShiftKind.Arithmetic:
                LoadSignExtended(_temp0, size);
                il.Emit(OpCodes.Ldc_I4, Math.Min(n - 1, 63));
                il.Emit(OpCodes.Shr);
                il.Emit(OpCodes.Conv_I4);
                il.Emit(OpCodes.Ldc_I4_1);
                il.Emit(OpCodes.And);
                break;
            default:
                il.Emit(OpCodes.Ldc_I4_0);
                break;
        }

        il.Emit(OpCodes.Stloc, _carry);

        // OF: SHL the result's sign against CF; SHR the original sign for a count of 1, else 0; SAR 0.
        BeginStatusFlagsStore(EflagsBits.Status);
        if (kind == ShiftKind.Left)
        {
            EmitBit(res, bits - 1);
            il.Emit(OpCodes.Ldloc, _carry);
            il.Emit(OpCodes.Xor);
            EndOverflowOperand();
        }
        else if (kind == ShiftKind.Right && n == 1)
        {
            EmitBit(_temp0, bits - 1);
            EndOverflowOperand();
        }

        il.Emit(OpCodes.Stfld, M.Eflags);
        if (keepResult)
        {
            _flagsOp = LazyOp.Shift;
            _flagsSize = size;
            _flagsOpResultDirty = true;
        }

        il.Emit(OpCodes.Ldloc, res);
        StoreRegister(d.Reg0, size);
    }

    /// <summary>SHL/SHR/SAR r, CL: the count is known only at run time, so a count of 0 branches around the whole instruction.</summary>
    private void EmitShiftByCount(ref DecodedInstruction d)
    {
        ILGenerator il = _il;
        int size = d.OpSize;
        int bits = size * 8;
        ShiftKind kind = KindOf(d.Op);
        LocalBuilder count = _shiftCount ??= il.DeclareLocal(typeof(int));

        // Whatever the count, the state must hold the previous record; both paths must have the register in its local.
        WriteBackFlags(updateState: true);
        LoadRegister(d.Reg0, 8);
        il.Emit(OpCodes.Pop);
        LoadRegister(A.CountRegister, 8);
        il.Emit(OpCodes.Conv_I4);
        il.Emit(OpCodes.Ldc_I4, size == 8 ? 0x3F : 0x1F);
        il.Emit(OpCodes.And);
        il.Emit(OpCodes.Stloc, count);
        Label done = il.DefineLabel();
        il.Emit(OpCodes.Ldloc, count);
        il.Emit(OpCodes.Brfalse, done);

        LoadRegister(d.Reg0, size);
        il.Emit(OpCodes.Stloc, _temp0);
        if (kind == ShiftKind.Arithmetic)
        {
            LoadSignExtended(_temp0, size);
            il.Emit(OpCodes.Ldloc, count);
            il.Emit(OpCodes.Shr);
        }
        else
        {
            il.Emit(OpCodes.Ldloc, _temp0);
            il.Emit(OpCodes.Ldloc, count);
            il.Emit(kind == ShiftKind.Left ? OpCodes.Shl : OpCodes.Shr_Un);
        }

        MaskToSize(size);
        il.Emit(OpCodes.Stloc, _temp1);

        // CF. SHL: bit (bits - count) of the value; for 16 and 32 bits taken from the value shifted within 64 bits, which
        // gives 0 when a 16-bit operand is shifted by more than 16 (Cpu.ExecuteShift's count <= bits). SHR/SAR: bit
        // (count - 1), 0 beyond a 16-bit value's width by itself.
        switch (kind)
        {
            case ShiftKind.Left when size == 8:
                il.Emit(OpCodes.Ldloc, _temp0);
                il.Emit(OpCodes.Ldc_I4, bits);
                il.Emit(OpCodes.Ldloc, count);
                il.Emit(OpCodes.Sub);
                il.Emit(OpCodes.Shr_Un);
                break;
            case ShiftKind.Left:
                il.Emit(OpCodes.Ldloc, _temp0);
                il.Emit(OpCodes.Ldloc, count);
                il.Emit(OpCodes.Shl);
                il.Emit(OpCodes.Ldc_I4, bits);
                il.Emit(OpCodes.Shr_Un);
                break;
            case ShiftKind.Right:
                il.Emit(OpCodes.Ldloc, _temp0);
                il.Emit(OpCodes.Ldloc, count);
                il.Emit(OpCodes.Ldc_I4_1);
                il.Emit(OpCodes.Sub);
                il.Emit(OpCodes.Shr_Un);
                break;
            default:
                LoadSignExtended(_temp0, size);
                il.Emit(OpCodes.Ldloc, count);
                il.Emit(OpCodes.Ldc_I4_1);
                il.Emit(OpCodes.Sub);
                il.Emit(OpCodes.Shr);
                break;
        }

        il.Emit(OpCodes.Conv_I4);
        il.Emit(OpCodes.Ldc_I4_1);
        il.Emit(OpCodes.And);
        il.Emit(OpCodes.Stloc, _carry);

        BeginStatusFlagsStore(EflagsBits.Status);
        if (kind == ShiftKind.Left)
        {
            EmitBit(_temp1, bits - 1);
            il.Emit(OpCodes.Ldloc, _carry);
            il.Emit(OpCodes.Xor);
            EndOverflowOperand();
        }
        else if (kind == ShiftKind.Right)
        {
            // The original sign, for a count of 1 only.
            EmitBit(_temp0, bits - 1);
            il.Emit(OpCodes.Ldloc, count);
            il.Emit(OpCodes.Ldc_I4_1);
            il.Emit(OpCodes.Ceq);
            il.Emit(OpCodes.And);
            EndOverflowOperand();
        }

        il.Emit(OpCodes.Stfld, M.Eflags);
        il.Emit(OpCodes.Ldloc, _ctx);
        il.Emit(OpCodes.Ldc_I4, (int)LazyOp.Shift);
        il.Emit(OpCodes.Stfld, M.LazyOperation);
        il.Emit(OpCodes.Ldloc, _ctx);
        il.Emit(OpCodes.Ldloc, _temp1);
        il.Emit(OpCodes.Stfld, M.LazyRes);
        il.Emit(OpCodes.Ldloc, _ctx);
        il.Emit(OpCodes.Ldc_I4, size);
        il.Emit(OpCodes.Stfld, M.LazySize);
        il.Emit(OpCodes.Ldloc, _temp1);
        StoreRegister(d.Reg0, size);
        il.MarkLabel(done);

        // Either record may be the state's now: only the state knows.
        _flagsOp = null;
    }

    /// <summary>
    /// ROL/ROR r, imm8 (Cpu.ExecuteShift): the record is folded into EFLAGS first (Cpu.GetFlags), then CF and OF replaced
    /// and the record left empty (SetStatusFlags), the other status flags kept.
    /// </summary>
    private void EmitRotate(ref DecodedInstruction d)
    {
        int n = ImmediateShiftCount(in d);
        if (n == 0)
        {
            return;
        }

        ILGenerator il = _il;
        int size = d.OpSize;
        int bits = size * 8;
        bool left = d.Op == Op.Rol;
        int r = n % bits;
        WriteBackFlags(updateState: true);
        il.Emit(OpCodes.Ldarg_0);
        il.Emit(OpCodes.Call, A.GetFlags);
        il.Emit(OpCodes.Pop);
        _flagsOp = null;

        LoadRegister(d.Reg0, size);
        if (r != 0)
        {
            il.Emit(OpCodes.Stloc, _temp0);
            il.Emit(OpCodes.Ldloc, _temp0);
            il.Emit(OpCodes.Ldc_I4, r);
            il.Emit(left ? OpCodes.Shl : OpCodes.Shr_Un);
            il.Emit(OpCodes.Ldloc, _temp0);
            il.Emit(OpCodes.Ldc_I4, bits - r);
            il.Emit(left ? OpCodes.Shr_Un : OpCodes.Shl);
            il.Emit(OpCodes.Or);
            MaskToSize(size);
        }

        il.Emit(OpCodes.Stloc, _temp1);

        // ROL: CF = bit 0, OF = sign ^ CF. ROR: CF = the sign, OF = the two top bits differ.
        EmitBit(_temp1, left ? 0 : bits - 1);
        il.Emit(OpCodes.Stloc, _carry);
        BeginStatusFlagsStore(EflagsBits.Cf | EflagsBits.Of);
        EmitBit(_temp1, bits - 1);
        if (left)
        {
            il.Emit(OpCodes.Ldloc, _carry);
        }
        else
        {
            EmitBit(_temp1, bits - 2);
        }

        il.Emit(OpCodes.Xor);
        EndOverflowOperand();
        il.Emit(OpCodes.Stfld, M.Eflags);
        il.Emit(OpCodes.Ldloc, _temp1);
        StoreRegister(d.Reg0, size);
    }

    /// <summary>
    /// Pushes the context and (EFLAGS with <paramref name="cleared"/> cleared) | CF from the carry local, for a
    /// following <see cref="EndOverflowOperand"/> (optional) and the store of EFLAGS.
    /// </summary>
    private void BeginStatusFlagsStore(uint cleared)
    {
        ILGenerator il = _il;
        il.Emit(OpCodes.Ldloc, _ctx);
        il.Emit(OpCodes.Ldloc, _ctx);
        il.Emit(OpCodes.Ldfld, M.Eflags);
        il.Emit(OpCodes.Ldc_I4, unchecked((int)~cleared));
        il.Emit(OpCodes.And);
        il.Emit(OpCodes.Ldloc, _carry);
        il.Emit(OpCodes.Or);
    }

    /// <summary>Ors the OF value on the stack (an int, 0 or 1) into the EFLAGS value below it.</summary>
    private void EndOverflowOperand()
    {
        _il.Emit(OpCodes.Ldc_I4, OverflowShift);
        _il.Emit(OpCodes.Shl);
        _il.Emit(OpCodes.Or);
    }

    /// <summary>Pushes bit <paramref name="bit"/> of a local (an int, 0 or 1).</summary>
    private void EmitBit(LocalBuilder local, int bit)
    {
        ILGenerator il = _il;
        il.Emit(OpCodes.Ldloc, local);
        if (bit != 0)
        {
            il.Emit(OpCodes.Ldc_I4, bit);
            il.Emit(OpCodes.Shr_Un);
        }

        il.Emit(OpCodes.Conv_I4);
        il.Emit(OpCodes.Ldc_I4_1);
        il.Emit(OpCodes.And);
    }

    /// <summary>Pushes a local holding a zero-extended value of <paramref name="size"/> bytes, sign-extended to 64 bits (Cpu.SignExtend).</summary>
    private void LoadSignExtended(LocalBuilder local, int size)
    {
        ILGenerator il = _il;
        il.Emit(OpCodes.Ldloc, local);
        if (size == 4)
        {
            il.Emit(OpCodes.Conv_I4);
            il.Emit(OpCodes.Conv_I8);
        }
        else if (size == 2)
        {
            il.Emit(OpCodes.Conv_I2);
            il.Emit(OpCodes.Conv_I8);
        }
        else if (size == 1)
        {
            il.Emit(OpCodes.Conv_I1);
            il.Emit(OpCodes.Conv_I8);
        }
    }

    /// <summary>Masks the value on the stack to <paramref name="size"/> bytes (nothing for 8).</summary>
    private void MaskToSize(int size)
    {
        if (size != 8)
        {
            _il.Emit(OpCodes.Ldc_I8, (long)SizeMask(size));
            _il.Emit(OpCodes.And);
        }
    }
}
