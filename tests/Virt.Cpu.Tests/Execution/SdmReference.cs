using System.Numerics;

namespace Virt.Cpu.Tests.Execution;

/// <summary>
/// Slow, obviously-correct reference definitions of the integer instructions, written from the Intel SDM (Vol. 1, 3.4.3.1
/// for the status flags; the Vol. 2 instruction pages for each operation's pseudo-code). Nothing here calls the CPU.
/// </summary>
internal static class SdmReference
{
    public const uint Cf = 1;
    public const uint Pf = 4;
    public const uint Af = 0x10;
    public const uint Zf = 0x40;
    public const uint Sf = 0x80;
    public const uint Of = 0x800;
    public const uint AllStatus = Cf | Pf | Af | Zf | Sf | Of;

    /// <summary>The binary ALU operations the properties cover.</summary>
    public enum AluOp
    {
        Add,
        Adc,
        Sub,
        Sbb,
        Cmp,
        And,
        Or,
        Xor,
        Test,
    }

    /// <summary>The shift and rotate operations, named rather than numbered by their ModRM reg field.</summary>
    public enum ShiftOp
    {
        Rol,
        Ror,
        Rcl,
        Rcr,
        Shl,
        Shr,
        Sar,
    }

    public static ulong Mask(int size) => size == 8 ? ulong.MaxValue : (1UL << (size * 8)) - 1;

    public static long SignExtend(ulong value, int size) => size switch
    {
        1 => (sbyte)value,
        2 => (short)value,
        4 => (int)value,
        _ => (long)value,
    };

    /// <summary>SF, ZF and PF of a result (PF: even parity of the low byte only, Vol. 1, 3.4.3.1).</summary>
    public static uint Szp(ulong result, int size)
    {
        uint f = 0;
        if ((result & Mask(size)) == 0)
        {
            f |= Zf;
        }

        if ((result & (1UL << ((size * 8) - 1))) != 0)
        {
            f |= Sf;
        }

        if ((BitOperations.PopCount(result & 0xFF) & 1) == 0)
        {
            f |= Pf;
        }

        return f;
    }

    /// <summary>
    /// ADD/ADC/SUB/SBB/CMP/AND/OR/XOR/TEST: the destination after the instruction (unchanged for CMP and TEST), the six status
    /// flags, and which of them are defined (AF is undefined after the logic operations, Vol. 2A, AND).
    /// </summary>
    public static (ulong Result, uint Flags, uint Defined) Binary(AluOp op, int size, ulong a, ulong b, bool carryIn)
    {
        ulong mask = Mask(size);
        ulong x = a & mask;
        ulong y = b & mask;
        int bits = size * 8;
        long sx = SignExtend(x, size);
        long sy = SignExtend(y, size);
        int cin = carryIn ? 1 : 0;
        uint f = 0;
        ulong result;
        uint defined = AllStatus;
        switch (op)
        {
            case AluOp.Add:
            case AluOp.Adc:
                {
                    int c = op == AluOp.Adc ? cin : 0;
                    BigInteger wide = (BigInteger)x + y + c;
                    BigInteger signedSum = (BigInteger)sx + sy + c;
                    result = (ulong)(wide & mask);
                    f |= wide > mask ? Cf : 0;
                    f |= FitsSigned(signedSum, bits) ? 0 : Of;
                    f |= (x & 0xF) + (y & 0xF) + (ulong)c > 0xF ? Af : 0;
                    break;
                }

            case AluOp.Sub:
            case AluOp.Sbb:
            case AluOp.Cmp:
                {
                    int c = op == AluOp.Sbb ? cin : 0;
                    BigInteger wide = (BigInteger)x - y - c;
                    BigInteger signedDiff = (BigInteger)sx - sy - c;
                    result = (ulong)(wide & mask);
                    f |= wide < 0 ? Cf : 0;
                    f |= FitsSigned(signedDiff, bits) ? 0 : Of;
                    f |= (long)(x & 0xF) - (long)(y & 0xF) - c < 0 ? Af : 0;
                    break;
                }

            default:
                result = op switch { AluOp.And or AluOp.Test => x & y, AluOp.Or => x | y, _ => x ^ y };
                defined &= ~Af;
                break;
        }

        f |= Szp(result, size);
        if (op is AluOp.Cmp or AluOp.Test)
        {
            result = x;
        }

        return (result, f, defined);
    }

    /// <summary>
    /// Shifts and rotates as count one-bit steps (Vol. 2B, SAL/SAR/SHL/SHR and RCL/RCR/ROL/ROR pseudo-code). The caller
    /// masks the count to 5 bits; OF is defined only for a count of 1.
    /// </summary>
    public static (ulong Result, bool Cf, bool Of) Shift(ShiftOp op, int size, ulong x, int count, bool carryIn)
    {
        int bits = size * 8;
        ulong mask = Mask(size);
        ulong msb = 1UL << (bits - 1);
        ulong value = x & mask;
        bool cf = carryIn;
        bool originalMsb = (value & msb) != 0;
        for (int i = 0; i < count; i++)
        {
            bool outBit;
            switch (op)
            {
                case ShiftOp.Rol:
                    cf = (value & msb) != 0;
                    value = ((value << 1) | (cf ? 1UL : 0)) & mask;
                    break;
                case ShiftOp.Ror:
                    cf = (value & 1) != 0;
                    value = (value >> 1) | (cf ? msb : 0);
                    break;
                case ShiftOp.Rcl:
                    outBit = (value & msb) != 0;
                    value = ((value << 1) | (cf ? 1UL : 0)) & mask;
                    cf = outBit;
                    break;
                case ShiftOp.Rcr:
                    outBit = (value & 1) != 0;
                    value = (value >> 1) | (cf ? msb : 0);
                    cf = outBit;
                    break;
                case ShiftOp.Shl:
                    cf = (value & msb) != 0;
                    value = (value << 1) & mask;
                    break;
                case ShiftOp.Shr:
                    cf = (value & 1) != 0;
                    value >>= 1;
                    break;
                default:
                    cf = (value & 1) != 0;
                    value = (value >> 1) | (value & msb);
                    break;
            }
        }

        bool newMsb = (value & msb) != 0;
        bool of = op switch
        {
            ShiftOp.Rol or ShiftOp.Rcl or ShiftOp.Shl => newMsb != cf,
            ShiftOp.Ror => newMsb != ((value & (msb >> 1)) != 0),
            ShiftOp.Rcr => originalMsb != carryIn,
            ShiftOp.Shr => originalMsb,
            _ => false,
        };
        return (value, cf, of);
    }

    /// <summary>
    /// SHLD/SHRD, transcribed from the Vol. 2B pseudo-code bit by bit. <paramref name="count"/> is already taken modulo 32.
    /// Count 0 is no operation (null). Counts above the operand size leave the result and flags undefined (null as well, so
    /// the caller skips them). CF is the last bit shifted out; OF is defined for a count of 1 only (a sign change); SF, ZF and
    /// PF follow the result; AF is undefined.
    /// </summary>
    public static (ulong Result, bool Cf, bool Of)? DoubleShift(bool left, int size, ulong dest, ulong src, int count)
    {
        int operandSize = size * 8;
        if (count == 0 || count > operandSize)
        {
            return null;
        }

        bool[] d = Bits(dest, operandSize);
        bool[] s = Bits(src, operandSize);
        bool[] r = new bool[operandSize];
        bool cf;
        if (left)
        {
            // CF <- BIT[DEST, OperandSize - COUNT]; DEST[i] <- DEST[i - COUNT] for i >= COUNT; DEST[i] <- SRC[i - COUNT + OperandSize] below.
            cf = d[operandSize - count];
            for (int i = operandSize - 1; i >= count; i--)
            {
                r[i] = d[i - count];
            }

            for (int i = count - 1; i >= 0; i--)
            {
                r[i] = s[i - count + operandSize];
            }
        }
        else
        {
            // CF <- BIT[DEST, COUNT - 1]; DEST[i] <- DEST[i + COUNT] for i <= OperandSize - 1 - COUNT; SRC fills the top.
            cf = d[count - 1];
            for (int i = 0; i <= operandSize - 1 - count; i++)
            {
                r[i] = d[i + count];
            }

            for (int i = operandSize - count; i <= operandSize - 1; i++)
            {
                r[i] = s[i + count - operandSize];
            }
        }

        ulong result = FromBits(r);
        bool of = d[operandSize - 1] != r[operandSize - 1];
        return (result, cf, of);
    }

    /// <summary>Signed multiply (IMUL, Vol. 2A): the full product, and CF = OF = whether it does not fit the destination size.</summary>
    public static (BigInteger Product, bool Overflow) SignedMultiply(ulong a, ulong b, int size)
    {
        BigInteger product = (BigInteger)SignExtend(a & Mask(size), size) * SignExtend(b & Mask(size), size);
        return (product, !FitsSigned(product, size * 8));
    }

    /// <summary>
    /// IDIV (Vol. 2A): null for #DE (divisor 0, or a quotient outside the destination's signed range); otherwise the quotient
    /// truncated toward zero and the remainder with the dividend's sign.
    /// </summary>
    public static (long Quotient, long Remainder)? SignedDivide(BigInteger dividend, long divisor, int size)
    {
        if (divisor == 0)
        {
            return null;
        }

        BigInteger quotient = BigInteger.DivRem(dividend, divisor, out BigInteger remainder);
        return FitsSigned(quotient, size * 8) ? ((long)quotient, (long)remainder) : null;
    }

    public static bool FitsSigned(BigInteger value, int bits) =>
        value >= -(BigInteger.One << (bits - 1)) && value < BigInteger.One << (bits - 1);

    private static bool[] Bits(ulong value, int count)
    {
        bool[] bits = new bool[count];
        for (int i = 0; i < count; i++)
        {
            bits[i] = ((value >> i) & 1) != 0;
        }

        return bits;
    }

    private static ulong FromBits(bool[] bits)
    {
        ulong value = 0;
        for (int i = 0; i < bits.Length; i++)
        {
            value |= bits[i] ? 1UL << i : 0;
        }

        return value;
    }
}
