using System.Runtime.CompilerServices;
using Virt.Cpu.Decoding;

namespace Virt.Cpu;

/// <summary>
/// Register-only 64-bit forms of SHL/SHR/SAR (count an immediate or CL) and two- and three-operand IMUL (64-bit mode,
/// REX.W), chosen at translation like the 32-bit ones in Cpu.FastRegister.cs. Same results and flags as
/// <see cref="ExecuteShift"/> and <see cref="ExecuteImulN"/> for 64-bit operands.
/// </summary>
public sealed partial class Cpu
{
    /// <summary>The shift-count mask of a 64-bit operand (Intel SDM Vol. 2B, SAL/SAR/SHL/SHR: 6 bits with REX.W).</summary>
    private const int ShiftCountMask64 = 0x3F;

    /// <summary>SHL/SHR/SAR r64, imm8/CL: count masked to 6 bits, a count of 0 changes nothing, flags included.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ExecuteShiftRegister64(ref DecodedInstruction d)
    {
        int count = (int)((d.Kind1 == OperandKind.Immediate ? d.Imm : Gpr(RegCx)) & ShiftCountMask64);
        if (count == 0)
        {
            return;
        }

        ref ulong r = ref Gpr(d.Reg0);
        ulong value = r;
        ulong res;
        bool cf;
        bool of;
        switch (d.Op)
        {
            case Op.ShlRegister64:
                res = value << count;
                cf = ((value >> (64 - count)) & 1) != 0;
                of = ((long)res < 0) != cf;
                break;
            case Op.ShrRegister64:
                res = value >> count;
                cf = ((value >> (count - 1)) & 1) != 0;

                // OF is defined for 1-bit shifts only (the original sign); as ExecuteShift, 0 for larger counts.
                of = count == 1 && (long)value < 0;
                break;
            default:
                res = (ulong)((long)value >> count);
                cf = (((long)value >> (count - 1)) & 1) != 0;
                of = false;
                break;
        }

        SetShiftFlags(res, 8, cf, of);
        r = res;
    }

    /// <summary>IMUL r64, r64 and IMUL r64, r64, imm32 (Intel SDM Vol. 2A, IMUL: CF = OF = the product does not fit 64 bits).</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ExecuteImulRegister64(ref DecodedInstruction d)
    {
        long a = (long)Gpr(d.Reg1);

        // The immediate of the three-operand form is sign-extended to 64 bits (SignExtend as ExecuteImulN does).
        long b = d.Kind2 == OperandKind.Immediate ? SignExtend(d.Imm, 8) : (long)Gpr(d.Reg0);
        long high = Math.BigMul(a, b, out long low);
        Gpr(d.Reg0) = (ulong)low;
        SetMultiplyFlags(high != (low >> 63), (ulong)low, 8);
    }
}
