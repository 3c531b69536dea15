using System.Reflection.Emit;
using Virt.Cpu.Decoding;
using A = Virt.Cpu.Cpu.CompiledArithMembers;

namespace Virt.Cpu;

/// <summary>
/// MOVZX/MOVSX/MOVSXD between registers, XCHG of two registers, CBW/CWDE/CDQE, CWD/CDQ/CQO, SETcc r8 and CMOVcc r, r, as
/// the interpreter's handlers (Cpu.ExecuteMovzx, ExecuteXchg, the dispatch's CBW..CQO cases, ExecuteCmov): none touches the
/// flags; SETcc and CMOVcc read them through <see cref="EmitCondition"/>.
/// </summary>
internal sealed partial class BlockEmitter
{
    /// <summary>MOVZX/MOVSX r, r8/r16 and MOVSXD r, r32: the source read at its size (AH-BH included), extended, written at the operand size.</summary>
    private void EmitMoveExtend(ref DecodedInstruction d)
    {
        LoadOperandRegister(d.Reg1, d.Size1);
        if (d.Op == Op.Movsx)
        {
            _il.Emit(OpCodes.Stloc, _temp0);
            LoadSignExtended(_temp0, d.Size1);
        }

        StoreRegister(d.Reg0, d.OpSize);
    }

    /// <summary>XCHG r, r: both read, then each written with the other's value (the same register: unchanged but for a 32-bit zero-extension).</summary>
    private void EmitExchange(ref DecodedInstruction d)
    {
        ILGenerator il = _il;
        int size = d.OpSize;
        LoadRegister(d.Reg0, size);
        il.Emit(OpCodes.Stloc, _temp0);
        LoadRegister(d.Reg1, size);
        il.Emit(OpCodes.Stloc, _temp1);
        il.Emit(OpCodes.Ldloc, _temp1);
        StoreRegister(d.Reg0, size);
        il.Emit(OpCodes.Ldloc, _temp0);
        StoreRegister(d.Reg1, size);
    }

    /// <summary>CBW, CWDE, CDQE: AL, AX or EAX sign-extended into AX, EAX or RAX.</summary>
    private void EmitAccumulatorExtend(Op op)
    {
        int size = op switch { Op.Cbw => 2, Op.Cwde => 4, _ => 8 };
        LoadRegister(A.AccumulatorRegister, 8);
        _il.Emit(OpCodes.Stloc, _temp0);
        LoadSignExtended(_temp0, size / 2);
        StoreRegister(A.AccumulatorRegister, size);
    }

    /// <summary>CWD, CDQ, CQO: DX, EDX or RDX all ones when AX, EAX or RAX is negative, else zero.</summary>
    private void EmitAccumulatorSign(Op op)
    {
        int size = op switch { Op.Cwd => 2, Op.Cdq => 4, _ => 8 };
        LoadRegister(A.AccumulatorRegister, 8);
        _il.Emit(OpCodes.Stloc, _temp0);
        LoadSignExtended(_temp0, size);
        _il.Emit(OpCodes.Ldc_I4, 63);
        _il.Emit(OpCodes.Shr);
        StoreRegister(A.DataRegister, size);
    }

    /// <summary>SETcc r8: the condition (0 or 1) into the byte register.</summary>
    private void EmitSetcc(ref DecodedInstruction d)
    {
        EmitCondition(d.Cond);
        _il.Emit(OpCodes.Conv_U8);
        _il.Emit(OpCodes.Stloc, ValueLocal);
        StoreByteRegister(d.Reg0);
    }

    /// <summary>
    /// CMOVcc r, r: the source moved when the condition holds; a 32-bit destination is zero-extended even when it does not
    /// (Intel SDM Vol. 2A, CMOVcc; Cpu.ExecuteCmov).
    /// </summary>
    private void EmitCmovcc(ref DecodedInstruction d)
    {
        ILGenerator il = _il;
        int size = d.OpSize;

        // Both paths must find the destination in its local: loaded before the branch.
        LoadRegister(d.Reg0, 8);
        il.Emit(OpCodes.Pop);
        LoadRegister(d.Reg1, size);
        il.Emit(OpCodes.Stloc, _temp1);
        EmitCondition(d.Cond);
        Label notMoved = il.DefineLabel();
        Label done = il.DefineLabel();
        il.Emit(OpCodes.Brfalse, notMoved);
        il.Emit(OpCodes.Ldloc, _temp1);
        StoreRegister(d.Reg0, size);
        il.Emit(OpCodes.Br, done);
        il.MarkLabel(notMoved);
        if (size == 4)
        {
            LoadRegister(d.Reg0, 4);
            StoreRegister(d.Reg0, 4);
        }

        il.MarkLabel(done);
    }

    /// <summary>Pushes a register operand read at <paramref name="size"/> (Cpu.ReadRegister: 4-7 are AH-BH for bytes), zero-extended.</summary>
    private void LoadOperandRegister(int register, int size)
    {
        ILGenerator il = _il;
        if (size != 1)
        {
            LoadRegister(register, size);
            return;
        }

        if ((uint)(register - 4) < 4)
        {
            LoadRegister(register - 4, 8);
            il.Emit(OpCodes.Ldc_I4_8);
            il.Emit(OpCodes.Shr_Un);
        }
        else
        {
            LoadRegister(register, 8);
        }

        il.Emit(OpCodes.Ldc_I8, 0xFFL);
        il.Emit(OpCodes.And);
    }
}
