using System.Numerics;

namespace Virt.Cpu.X87;

/// <summary>
/// Exact x87 arithmetic on <see cref="Float80"/> values. Every operation works on integer significands
/// (64-bit operands, 128-bit intermediates) and rounds once, so results are correctly rounded in every
/// precision and rounding mode. Operations take an <see cref="X87Context"/> by reference: it supplies the
/// control settings and collects the exceptions and C1.
/// </summary>
internal static partial class X87Math
{
    /// <summary>Unbiased exponent of the smallest normal extended value (2^-16382).</summary>
    internal const int ExtendedMinExponent = 1 - Float80.Bias;

    /// <summary>Unbiased exponent of the largest finite extended value.</summary>
    internal const int ExtendedMaxExponent = 0x7FFE - Float80.Bias;

    /// <summary>Exponent wrap applied to register results of unmasked #O/#U (Intel SDM Vol. 1, 8.5.4).</summary>
    internal const int ExponentWrap = 24576;

    /// <summary>What <see cref="Round"/> produced.</summary>
    internal readonly struct Rounded
    {
        /// <summary>The result's significand, right-aligned in the destination width: bit p-1 is the integer bit, clear for a denormal or zero.</summary>
        public readonly ulong Significand;

        /// <summary>Unbiased exponent of bit p-1 (the minimum normal exponent for a denormal).</summary>
        public readonly int Exponent;

        public readonly bool IsInfinity;

        public Rounded(ulong significand, int exponent, bool isInfinity)
        {
            Significand = significand;
            Exponent = exponent;
            IsInfinity = isInfinity;
        }
    }

    /// <summary>
    /// Rounds the exact non-zero value m * 2^(exponent - 127) (m normalized: bit 127 set, any set bit below
    /// bit 0 already folded into bit 0 as a sticky bit) to a destination with <paramref name="precisionBits"/>
    /// significand bits and the given normal exponent range, applying the rounding control and the masked or
    /// unmasked overflow and underflow responses (Intel SDM Vol. 1, 4.9.1.4-4.9.1.6, 8.5.4-8.5.6).
    /// Tininess is detected after rounding with an unbounded exponent, as the SDM specifies for x87.
    /// </summary>
    internal static Rounded Round(bool negative, int exponent, UInt128 m, int precisionBits, int minExponent, int maxExponent, bool registerDestination, ref X87Context ctx)
    {
        int p = precisionBits;
        UInt128 wide = RoundBits(m, 128 - p, negative, ctx.Rounding, out bool inexact, out bool increment);
        int e = exponent;
        if (wide >> p != 0)
        {
            wide >>= 1;
            e++;
        }

        ulong kept = (ulong)wide;

        if (e < minExponent)
        {
            if (!ctx.IsMasked(X87Exceptions.Underflow))
            {
                ctx.Flags |= X87Exceptions.Underflow;
                if (!registerDestination)
                {
                    ctx.SuppressWrite = true;
                    return new Rounded(0, minExponent, false);
                }

                e += ExponentWrap;
                if (e >= minExponent)
                {
                    SetPrecision(inexact, increment, ref ctx);
                    return new Rounded(kept, e, false);
                }

                // Massive underflow, still tiny after the bias adjustment: deliver the denormalized value.
            }

            // Masked response: denormalize the exact value and round it once.
            int shift = 128 - p + (minExponent - exponent);
            kept = (ulong)RoundBits(m, shift, negative, ctx.Rounding, out inexact, out increment);
            if (inexact)
            {
                ctx.Flags |= X87Exceptions.Underflow;
            }

            SetPrecision(inexact, increment, ref ctx);
            return new Rounded(kept, minExponent, false);
        }

        if (e > maxExponent)
        {
            if (!ctx.IsMasked(X87Exceptions.Overflow))
            {
                ctx.Flags |= X87Exceptions.Overflow;
                if (!registerDestination)
                {
                    ctx.SuppressWrite = true;
                    return new Rounded(0, maxExponent, false);
                }

                e -= ExponentWrap;
                if (e <= maxExponent)
                {
                    SetPrecision(inexact, increment, ref ctx);
                    return new Rounded(kept, e, false);
                }

                // Massive overflow (FSCALE): a signed infinity, SDM 8.5.4.
                ctx.Flags |= X87Exceptions.Precision;
                ctx.RoundedUp = true;
                return new Rounded(0, maxExponent, true);
            }

            ctx.Flags |= X87Exceptions.Overflow | X87Exceptions.Precision;
            bool toInfinity = ctx.Rounding switch
            {
                X87RoundingControl.Nearest => true,
                X87RoundingControl.Down => negative,
                X87RoundingControl.Up => !negative,
                _ => false,
            };
            ctx.RoundedUp = toInfinity;
            return toInfinity ? new Rounded(0, maxExponent, true) : new Rounded(ulong.MaxValue >> (64 - p), maxExponent, false);
        }

        SetPrecision(inexact, increment, ref ctx);
        return new Rounded(kept, e, false);
    }

    private static void SetPrecision(bool inexact, bool increment, ref X87Context ctx)
    {
        ctx.RoundedUp = increment;
        if (inexact)
        {
            ctx.Flags |= X87Exceptions.Precision;
        }
    }

    /// <summary>
    /// Rounds m to an integer after dropping its low <paramref name="shift"/> bits (0 &lt; shift, any size)
    /// in the given direction; the result has at most 128 - shift + 1 bits.
    /// </summary>
    internal static UInt128 RoundBits(UInt128 m, int shift, bool negative, X87RoundingControl rounding, out bool inexact, out bool increment)
    {
        UInt128 kept;
        bool half;
        bool sticky;
        if (shift > 128)
        {
            kept = 0;
            half = false;
            sticky = m != 0;
        }
        else if (shift == 128)
        {
            kept = 0;
            half = (m >> 127) != 0;
            sticky = (m << 1) != 0;
        }
        else
        {
            kept = m >> shift;
            half = ((m >> (shift - 1)) & 1) != 0;
            sticky = (m & ((UInt128.One << (shift - 1)) - 1)) != 0;
        }

        inexact = half || sticky;
        increment = inexact && rounding switch
        {
            X87RoundingControl.Nearest => half && (sticky || (kept & 1) != 0),
            X87RoundingControl.Down => negative,
            X87RoundingControl.Up => !negative,
            _ => false,
        };
        return increment ? kept + 1 : kept;
    }

    /// <summary>Rounds an exact value to an extended register result with <paramref name="precisionBits"/> significand bits.</summary>
    internal static Float80 RoundToExtended(bool negative, int exponent, UInt128 m, int precisionBits, ref X87Context ctx)
    {
        Rounded r = Round(negative, exponent, m, precisionBits, ExtendedMinExponent, ExtendedMaxExponent, registerDestination: true, ref ctx);
        return PackExtended(negative, r, precisionBits);
    }

    internal static Float80 PackExtended(bool negative, in Rounded r, int precisionBits)
    {
        if (r.IsInfinity)
        {
            return new Float80(negative, Float80.MaxBiasedExponent, Float80.IntegerBit);
        }

        ulong significand = r.Significand << (64 - precisionBits);
        int biased = (significand & Float80.IntegerBit) != 0 ? r.Exponent + Float80.Bias : 0;
        return new Float80(negative, biased, significand);
    }

    /// <summary>Shifts right by any amount, folding every bit shifted out into bit 0 (sticky).</summary>
    internal static UInt128 ShiftRightSticky(UInt128 value, int shift)
    {
        if (shift <= 0)
        {
            return value;
        }

        if (shift >= 128)
        {
            return value != 0 ? UInt128.One : UInt128.Zero;
        }

        UInt128 lost = value & ((UInt128.One << shift) - 1);
        return (value >> shift) | (lost != 0 ? UInt128.One : UInt128.Zero);
    }

    /// <summary>
    /// The significand of a finite non-zero operand (normal, denormal or pseudo-denormal) shifted so that
    /// bit 63 is set, with the unbiased exponent of that bit.
    /// </summary>
    internal static ulong Normalize(in Float80 x, out int exponent)
    {
        int biased = x.BiasedExponent;
        ulong s = x.Significand;
        if (biased == 0)
        {
            // Denormals and pseudo-denormals both use the exponent of 2^-16382 (SDM 8.2.2).
            int lz = BitOperations.LeadingZeroCount(s);
            exponent = ExtendedMinExponent - lz;
            return s << lz;
        }

        exponent = biased - Float80.Bias;
        return s;
    }

    internal static bool IsDenormalClass(Float80Class c) => c is Float80Class.Denormal or Float80Class.PseudoDenormal;

    internal static bool IsNaNClass(Float80Class c) => c is Float80Class.QuietNaN or Float80Class.SignalingNaN;

    /// <summary>
    /// The #IA/NaN screen for an operation on two operands (Intel SDM Vol. 1, 4.8.3.5, Table 4-7): returns
    /// true with the result when an operand is a NaN or unsupported, then raises #D for denormal operands
    /// (true when #D is unmasked, so the operation stops).
    /// </summary>
    internal static bool ScreenOperands(in Float80 a, Float80Class ca, in Float80 b, Float80Class cb, ref X87Context ctx, out Float80 result)
    {
        if (ca == Float80Class.Unsupported || cb == Float80Class.Unsupported)
        {
            result = InvalidResult(ref ctx);
            return true;
        }

        bool aNaN = IsNaNClass(ca);
        bool bNaN = IsNaNClass(cb);
        if (aNaN || bNaN)
        {
            if (ca == Float80Class.SignalingNaN || cb == Float80Class.SignalingNaN)
            {
                ctx.Raise(X87Exceptions.Invalid);
            }

            result = PropagateNaN(a, ca, b, cb);
            return true;
        }

        if ((IsDenormalClass(ca) || IsDenormalClass(cb)) && !ctx.Raise(X87Exceptions.Denormal))
        {
            result = a;
            return true;
        }

        result = default;
        return false;
    }

    /// <summary>Table 4-7 of the SDM: which NaN an x87 operation delivers, made quiet.</summary>
    internal static Float80 PropagateNaN(in Float80 a, Float80Class ca, in Float80 b, Float80Class cb)
    {
        bool aNaN = IsNaNClass(ca);
        bool bNaN = IsNaNClass(cb);
        if (aNaN && bNaN)
        {
            if (ca != cb)
            {
                // One SNaN and one QNaN: the QNaN.
                return ca == Float80Class.QuietNaN ? a : b;
            }

            ulong sa = a.Significand | Float80.QuietBit;
            ulong sb = b.Significand | Float80.QuietBit;
            return (sb > sa ? b : a).Quieted();
        }

        return (aNaN ? a : b).Quieted();
    }

    /// <summary>Raises #IA and returns the masked response, the real indefinite.</summary>
    internal static Float80 InvalidResult(ref X87Context ctx)
    {
        ctx.Raise(X87Exceptions.Invalid);
        return Float80.Indefinite;
    }

    /// <summary>The zero an exact cancellation delivers: +0, or -0 when rounding down (IEEE 754 6.3).</summary>
    internal static Float80 CancellationZero(in X87Context ctx) =>
        ctx.Rounding == X87RoundingControl.Down ? Float80.NegativeZero : Float80.PositiveZero;
}
