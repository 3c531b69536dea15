namespace Virt.Cpu.Simd;

/// <summary>Conversions to and from integers, rounding to an integral value, and the reciprocal approximations.</summary>
internal static partial class SseFloat<T>
    where T : struct, ISseFormat
{
    /// <summary>The integer indefinite value of a 32-bit conversion (Intel SDM Vol. 1, 4.8.3.7).</summary>
    public const uint IntegerIndefinite32 = 0x8000_0000;

    /// <summary>The integer indefinite value of a 64-bit conversion.</summary>
    public const ulong IntegerIndefinite64 = 0x8000_0000_0000_0000;

    /// <summary>
    /// CVTSS2SI and friends: a to a signed integer of <paramref name="width"/> bits (32 or 64), rounded in MXCSR's mode or
    /// truncated. A NaN, an infinity or a value out of range is IE with the integer indefinite value (not PE); an inexact
    /// result is PE. These instructions report no DE (Vol. 2A, CVTSS2SI, "SIMD Floating-Point Exceptions").
    /// </summary>
    /// <returns>The integer in the low <paramref name="width"/> bits.</returns>
    public static ulong ToInteger(ulong a, int width, bool truncate, uint mxcsr, ref uint flags)
    {
        ulong indefinite = width == 64 ? IntegerIndefinite64 : IntegerIndefinite32;
        if (IsNaN(a) || IsInfinity(a))
        {
            flags |= MxcsrBits.Ie;
            return indefinite;
        }

        a = DenormalsAreZeros(a, mxcsr);
        Unpack(a, out bool sign, out int exp, out ulong sig);
        if (sig == 0)
        {
            return 0;
        }

        SseRounding mode = truncate ? SseRounding.TowardZero : Rounding(mxcsr);
        UInt128 magnitude;
        bool inexact = false;
        if (exp >= 64)
        {
            flags |= MxcsrBits.Ie;
            return indefinite;
        }

        if (exp >= 0)
        {
            magnitude = (UInt128)sig << exp;
        }
        else
        {
            magnitude = ShiftRound(sig, -exp, sticky: false, mode, sign, out inexact);
        }

        UInt128 limit = (UInt128.One << (width - 1)) - (sign ? UInt128.Zero : UInt128.One);
        if (magnitude > limit)
        {
            flags |= MxcsrBits.Ie;
            return indefinite;
        }

        if (inexact)
        {
            flags |= MxcsrBits.Pe;
        }

        ulong value = (ulong)magnitude;
        value = sign ? 0 - value : value;
        return width == 64 ? value : (uint)value;
    }

    /// <summary>CVTSI2SS and friends: a signed integer to the format, rounded in MXCSR's mode (PE only).</summary>
    public static ulong FromInteger(long value, uint mxcsr, ref uint flags)
    {
        bool sign = value < 0;
        ulong magnitude = sign ? 0 - (ulong)value : (ulong)value;
        return RoundPack(sign, 0, magnitude, sticky: false, mxcsr, ref flags);
    }

    /// <summary>
    /// ROUNDPS and friends: a rounded to an integral value in <paramref name="mode"/>. IE only for an SNaN, PE for an inexact
    /// result unless <paramref name="suppressPrecision"/> (imm8 bit 3), never DE (Intel SDM Vol. 2B, ROUNDPS).
    /// </summary>
    public static ulong RoundToIntegral(ulong a, SseRounding mode, bool suppressPrecision, uint mxcsr, ref uint flags)
    {
        if (IsNaN(a))
        {
            return PropagateNaN(a, a, ref flags);
        }

        a = DenormalsAreZeros(a, mxcsr);
        if (IsInfinity(a) || IsZero(a))
        {
            return a;
        }

        Unpack(a, out bool sign, out int exp, out ulong sig);
        if (exp >= 0)
        {
            return a;
        }

        UInt128 magnitude = ShiftRound(sig, -exp, sticky: false, mode, sign, out bool inexact);
        if (inexact && !suppressPrecision)
        {
            flags |= MxcsrBits.Pe;
        }

        // An integral magnitude below 2^P converts exactly.
        uint unused = 0;
        return RoundPack(sign, 0, magnitude, sticky: false, mxcsr & ~MxcsrBits.Ftz, ref unused);
    }

    /// <summary>
    /// Converts a value of format <typeparamref name="TSource"/> to this format (CVTSS2SD, CVTSD2SS and the packed forms):
    /// an SNaN is IE and quieted, a NaN keeps its sign and the top of its payload; denormal sources are DE (or zeros under
    /// DAZ); narrowing rounds with overflow, underflow and precision.
    /// </summary>
    public static ulong ConvertFrom<TSource>(ulong a, uint mxcsr, ref uint flags)
        where TSource : struct, ISseFormat
    {
        if (SseFloat<TSource>.IsNaN(a))
        {
            if (SseFloat<TSource>.IsSignalingNaN(a))
            {
                flags |= MxcsrBits.Ie;
            }

            ulong payload = a & SseFloat<TSource>.FractionMask;
            int delta = SseFloat<TSource>.F - F;
            payload = delta >= 0 ? payload >> delta : payload << -delta;
            return (SseFloat<TSource>.IsNegative(a) ? SignBit : 0) | ExponentMask | QuietBit | payload;
        }

        a = SseFloat<TSource>.DenormalsAreZeros(a, mxcsr);
        bool sign = SseFloat<TSource>.IsNegative(a);
        if (SseFloat<TSource>.IsInfinity(a))
        {
            return (sign ? SignBit : 0) | ExponentMask;
        }

        if (SseFloat<TSource>.IsDenormal(a))
        {
            flags |= MxcsrBits.De;
        }

        SseFloat<TSource>.Unpack(a, out _, out int exp, out ulong sig);
        return RoundPack(sign, exp, sig, sticky: false, mxcsr, ref flags);
    }

    /// <summary>
    /// RCPPS and RSQRTPS: the reciprocal or reciprocal square root, as the hardware's approximation would be used. Virt
    /// returns the correctly rounded value (round to nearest), which is within the architectural bound |relative error| &lt;=
    /// 1.5 * 2^-12 (Intel SDM Vol. 2B, RCPPS) but not the table value of any particular processor. As on hardware: no
    /// exceptions and no flags, MXCSR's rounding mode is ignored, denormal operands are read as zeros and tiny results are
    /// flushed to zeros; a NaN is quieted; RSQRT of a negative number is the default NaN.
    /// </summary>
    public static ulong ReciprocalEstimate(ulong a, bool squareRoot)
    {
        if (IsNaN(a))
        {
            return a | QuietBit;
        }

        if (IsDenormal(a))
        {
            a &= SignBit;
        }

        ulong one = (ulong)Bias << F;
        uint unused = 0;
        const uint Nearest = MxcsrBits.MaskMask | MxcsrBits.Ftz;
        if (squareRoot)
        {
            if (IsZero(a))
            {
                return (a & SignBit) | ExponentMask;
            }

            if (IsNegative(a))
            {
                return DefaultNaN;
            }

            return Div(one, Sqrt(a, Nearest, ref unused), Nearest, ref unused);
        }

        return Div(one, a, Nearest, ref unused);
    }
}
