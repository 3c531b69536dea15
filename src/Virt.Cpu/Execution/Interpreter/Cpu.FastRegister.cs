using System.Runtime.CompilerServices;
using Iced.Intel;
using Virt.Cpu.Decoding;

namespace Virt.Cpu;

/// <summary>
/// Register-only 32-bit forms of SHL/SHR/SAR (count an immediate or CL) and two- and three-operand IMUL, chosen at
/// translation so the executor skips the generic operand-kind switches. Same results and flags as
/// <see cref="ExecuteShift"/> and <see cref="ExecuteImulN"/> for 32-bit operands.
/// </summary>
public sealed partial class Cpu
{

    /// <summary>
    /// SHL/SHR/SAR r32, imm8/CL: count masked to 5 bits, a count of 0 changes nothing (Intel SDM Vol. 2B, SAL/SAR/SHL/SHR).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void ExecuteShiftRegister32(ref DecodedInstruction d, Op op)
    {
        int count = (int)((d.Kind1 == OperandKind.Immediate ? d.Imm : (uint)Gpr(RegCx)) & 0x1F);
        if (count == 0)
        {
            return;
        }

        ref ulong r = ref Gpr(d.Reg0);
        uint value = (uint)r;
        uint res;
        bool cf;
        bool of;
        switch (op)
        {
            case Op.ShlRegister32:
                res = value << count;
                cf = ((value >> (32 - count)) & 1) != 0;
                of = ((res >> 31) != 0) != cf;
                break;
            case Op.ShrRegister32:
                res = value >> count;
                cf = ((value >> (count - 1)) & 1) != 0;
                of = count == 1 && (int)value < 0;
                break;
            default:
                res = (uint)((int)value >> count);
                cf = (((int)value >> (count - 1)) & 1) != 0;
                of = false;
                break;
        }

        // As SetShiftFlags, inline: CF and OF stored now, SF/ZF/PF lazy from the result, AF cleared (undefined).
        _ctx.Eflags = (_ctx.Eflags & ~EflagsBits.Status) | (cf ? EflagsBits.Cf : 0) | (of ? EflagsBits.Of : 0);
        _ctx.LazyOp = LazyOp.Shift;
        _ctx.LazyRes = res;
        _ctx.LazySize = 4;
        r = res;
    }

    /// <summary>IMUL r32, r32 and IMUL r32, r32, imm (Intel SDM Vol. 2A, IMUL: CF = OF = the product does not fit 32 bits).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void ExecuteImulRegister32(ref DecodedInstruction d)
    {
        long a = (int)(uint)Gpr(d.Reg1);
        long b = d.Kind2 == OperandKind.Immediate ? (int)d.Imm : (int)(uint)Gpr(d.Reg0);
        long product = a * b;
        Gpr(d.Reg0) = (uint)product;
        SetMultiplyFlags(product != (int)product, (ulong)product, 4);
    }
}
