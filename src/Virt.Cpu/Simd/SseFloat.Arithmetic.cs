namespace Virt.Cpu.Simd;

/// <summary>The arithmetic operations: add, subtract, multiply, divide, square root, minimum and maximum.</summary>
internal static partial class SseFloat<T>
    where T : struct, ISseFormat
{
    /// <summary>a + b (ADDPS and the other adds).</summary>
    public static ulong Add(ulong a, ulong b, uint mxcsr, ref uint flags) => AddCore(a, b, subtract: false, mxcsr, ref flags);

    /// <summary>a - b.</summary>
    public static ulong Sub(ulong a, ulong b, uint mxcsr, ref uint flags) => AddCore(a, b, subtract: true, mxcsr, ref flags);

    private static ulong AddCore(ulong a, ulong b, bool subtract, uint mxcsr, ref uint flags)
    {
        if (IsNaN(a) || IsNaN(b))
        {
            return PropagateNaN(a, b, ref flags);
        }

        a = DenormalsAreZeros(a, mxcsr);
        b = DenormalsAreZeros(b, mxcsr);
        if (subtract)
        {
            b ^= SignBit;
        }

        bool infinityA = IsInfinity(a);
        bool infinityB = IsInfinity(b);
        if (infinityA || infinityB)
        {
            if (infinityA && infinityB && ((a ^ b) & SignBit) != 0)
            {
                flags |= MxcsrBits.Ie;
                return DefaultNaN;
            }

            flags |= DenormalFlag(a, b);
            return infinityA ? a : b;
        }

        flags |= DenormalFlag(a, b);
        Unpack(a, out bool signA, out int expA, out ulong sigA);
        Unpack(b, out bool signB, out int expB, out ulong sigB);
        if (sigA == 0 && sigB == 0)
        {
            // Exact zero sums: the common sign, else +0 (-0 when rounding down) (IEEE 754-2008, 6.3).
            return signA == signB ? a : Rounding(mxcsr) == SseRounding.Down ? SignBit : 0;
        }

        if (expA < expB || (expA == expB && sigA < sigB))
        {
            (signA, expA, sigA, signB, expB, sigB) = (signB, expB, sigB, signA, expA, sigA);
        }

        const int ExactAlignment = 64;
        const int GuardBits = 3;
        UInt128 large;
        UInt128 small;
        int exp;
        bool sticky = false;
        int difference = expA - expB;
        if (sigB == 0 || difference <= ExactAlignment)
        {
            large = sigB == 0 ? sigA : (UInt128)sigA << difference;
            small = sigB;
            exp = sigB == 0 ? expA : expB;
        }
        else
        {
            // The smaller operand is below 2^-(64 - P) of the larger one's last bit: it only decides the rounding, as a
            // sticky bit (one unit below three guard bits, taken away for a difference).
            large = (UInt128)sigA << GuardBits;
            small = signA == signB ? UInt128.Zero : UInt128.One;
            exp = expA - GuardBits;
            sticky = true;
        }

        UInt128 magnitude;
        bool sign = signA;
        if (signA == signB)
        {
            magnitude = large + small;
        }
        else if (large > small)
        {
            magnitude = large - small;
        }
        else if (large < small)
        {
            magnitude = small - large;
            sign = signB;
        }
        else
        {
            return Rounding(mxcsr) == SseRounding.Down ? SignBit : 0;
        }

        return RoundPack(sign, exp, magnitude, sticky, mxcsr, ref flags);
    }

    /// <summary>a * b.</summary>
    public static ulong Mul(ulong a, ulong b, uint mxcsr, ref uint flags)
    {
        if (IsNaN(a) || IsNaN(b))
        {
            return PropagateNaN(a, b, ref flags);
        }

        a = DenormalsAreZeros(a, mxcsr);
        b = DenormalsAreZeros(b, mxcsr);
        ulong signBit = (a ^ b) & SignBit;
        if (IsInfinity(a) || IsInfinity(b))
        {
            if (IsZero(a) || IsZero(b))
            {
                flags |= MxcsrBits.Ie;
                return DefaultNaN;
            }

            flags |= DenormalFlag(a, b);
            return signBit | ExponentMask;
        }

        flags |= DenormalFlag(a, b);
        if (IsZero(a) || IsZero(b))
        {
            return signBit;
        }

        Unpack(a, out _, out int expA, out ulong sigA);
        Unpack(b, out _, out int expB, out ulong sigB);
        return RoundPack(signBit != 0, expA + expB, (UInt128)sigA * sigB, sticky: false, mxcsr, ref flags);
    }

    /// <summary>a / b.</summary>
    public static ulong Div(ulong a, ulong b, uint mxcsr, ref uint flags)
    {
        if (IsNaN(a) || IsNaN(b))
        {
            return PropagateNaN(a, b, ref flags);
        }

        a = DenormalsAreZeros(a, mxcsr);
        b = DenormalsAreZeros(b, mxcsr);
        ulong signBit = (a ^ b) & SignBit;
        bool infinityA = IsInfinity(a);
        bool infinityB = IsInfinity(b);
        if (infinityA || infinityB)
        {
            if (infinityA && infinityB)
            {
                flags |= MxcsrBits.Ie;
                return DefaultNaN;
            }

            flags |= DenormalFlag(a, b);
            return infinityA ? signBit | ExponentMask : signBit;
        }

        if (IsZero(b))
        {
            // 0/0 is invalid; x/0 is divide-by-zero, which takes precedence over a denormal dividend (Vol. 1, 4.9.2).
            if (IsZero(a))
            {
                flags |= MxcsrBits.Ie;
                return DefaultNaN;
            }

            flags |= MxcsrBits.Ze;
            return signBit | ExponentMask;
        }

        flags |= DenormalFlag(a, b);
        if (IsZero(a))
        {
            return signBit;
        }

        UnpackNormalized(a, out _, out int expA, out ulong sigA);
        UnpackNormalized(b, out _, out int expB, out ulong sigB);

        // Both significands in [2^(P-1), 2^P): the quotient of sigA * 2^(P+2) by sigB has P+2 or P+3 bits, and the
        // remainder only tells whether bits are left below it.
        int scale = P + 2;
        UInt128 dividend = (UInt128)sigA << scale;
        UInt128 quotient = UInt128.DivRem(dividend, sigB).Quotient;
        bool sticky = quotient * sigB != dividend;
        return RoundPack(signBit != 0, expA - expB - scale, quotient, sticky, mxcsr, ref flags);
    }

    /// <summary>The square root of a.</summary>
    public static ulong Sqrt(ulong a, uint mxcsr, ref uint flags)
    {
        if (IsNaN(a))
        {
            return PropagateNaN(a, a, ref flags);
        }

        a = DenormalsAreZeros(a, mxcsr);
        if (IsZero(a))
        {
            return a;
        }

        if (IsNegative(a))
        {
            flags |= MxcsrBits.Ie;
            return DefaultNaN;
        }

        if (IsInfinity(a))
        {
            return a;
        }

        flags |= DenormalFlag(a, a);
        UnpackNormalized(a, out _, out int exp, out ulong sig);

        // Scale the significand to about 2P+3 bits with an even exponent, so the integer root has P+2 bits or more.
        int shift = P + 3;
        if (((exp - shift) & 1) != 0)
        {
            shift++;
        }

        UInt128 root = SquareRoot((UInt128)sig << shift, out bool exact);
        return RoundPack(false, (exp - shift) / 2, root, !exact, mxcsr, ref flags);
    }

    /// <summary>
    /// MINPS and friends: a &lt; b ? a : b, where a NaN in either operand (IE, even for a QNaN) or two zeros return the
    /// second operand unchanged (Intel SDM Vol. 2B, MINPS).
    /// </summary>
    public static ulong Min(ulong a, ulong b, uint mxcsr, ref uint flags) => MinMax(a, b, max: false, mxcsr, ref flags);

    /// <summary>MAXPS and friends: a &gt; b ? a : b, with MINPS's rules for NaNs and zeros.</summary>
    public static ulong Max(ulong a, ulong b, uint mxcsr, ref uint flags) => MinMax(a, b, max: true, mxcsr, ref flags);

    private static ulong MinMax(ulong a, ulong b, bool max, uint mxcsr, ref uint flags)
    {
        if (IsNaN(a) || IsNaN(b))
        {
            flags |= MxcsrBits.Ie;
            return b;
        }

        a = DenormalsAreZeros(a, mxcsr);
        b = DenormalsAreZeros(b, mxcsr);
        flags |= DenormalFlag(a, b);
        long keyA = OrderKey(a);
        long keyB = OrderKey(b);
        return (max ? keyA > keyB : keyA < keyB) ? a : b;
    }
}
