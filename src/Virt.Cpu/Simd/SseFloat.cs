using System.Runtime.CompilerServices;

namespace Virt.Cpu.Simd;

/// <summary>
/// A small soft-float core for the SSE unit, bit-exact with the hardware's IEEE 754 arithmetic in one format
/// (<see cref="SseBinary32"/> or <see cref="SseBinary64"/>). Values travel as their bit patterns in a <see cref="ulong"/>;
/// exception flags are OR-ed into a caller's word in MXCSR's bit positions (<see cref="MxcsrBits"/>), and the control bits
/// (rounding, FTZ, DAZ, the underflow mask) are read from the caller's MXCSR.
/// </summary>
/// <remarks>
/// <para>
/// How it works: a finite operand is unpacked to sign, an integer significand and a power of two (value = sig * 2^exp). Each
/// operation forms its exact result as another such pair, in a <see cref="UInt128"/> wide enough to hold it exactly (the
/// 106-bit product of two binary64 significands, a 56-bit quotient with its remainder as a sticky bit, a 55-bit integer
/// square root with its remainder as a sticky bit, an aligned sum; only a sum whose operands are more than 64 binades apart
/// keeps the smaller one as a sticky bit, which is below a quarter of an ulp of the larger). <see cref="RoundPack"/> then
/// rounds that exact value once, in the MXCSR mode, to the format: to the format's precision for a normal result, to the
/// fixed denormal quantum for a tiny one. That single rounding is what IEEE 754 prescribes, so the result is the hardware's.
/// </para>
/// <para>
/// The x86 specifics (Intel SDM Vol. 1, 4.8.3, 4.9, Table 4-7, 10.2.3 and 11.5): tininess is detected after rounding (as
/// if the exponent range were unbounded); masked underflow sets UE only together with PE; FTZ (with underflow masked) turns
/// a tiny result into a zero of the same sign and sets UE and PE; DAZ reads denormal operands as zeros and then reports no
/// DE; the NaN result of a two-operand operation is the first operand's NaN if it is one, else the second's, quieted; an
/// invalid operation without NaN operands gives the default NaN (the "QNaN floating-point indefinite", sign set). Within one
/// operation the exceptions follow Vol. 1, 4.9.2: an SNaN operand (IE) and a QNaN operand suppress DE; an invalid
/// operation or division by zero suppresses DE; overflow and underflow come with PE.
/// </para>
/// </remarks>
/// <typeparam name="T">The format.</typeparam>
internal static partial class SseFloat<T>
    where T : struct, ISseFormat
{
    /// <summary>The stored fraction width.</summary>
    internal static int F
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => T.FractionBits;
    }

    /// <summary>The precision (fraction plus the hidden bit).</summary>
    internal static int P
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => T.FractionBits + 1;
    }

    /// <summary>The largest biased exponent field (infinities and NaNs).</summary>
    internal static int MaxBiased
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => (1 << T.ExponentBits) - 1;
    }

    /// <summary>The exponent bias.</summary>
    internal static int Bias
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => (1 << (T.ExponentBits - 1)) - 1;
    }

    /// <summary>The smallest normal exponent (1 - bias).</summary>
    internal static int Emin
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => 1 - Bias;
    }

    /// <summary>The sign bit.</summary>
    internal static ulong SignBit
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => 1UL << (T.FractionBits + T.ExponentBits);
    }

    /// <summary>The fraction field.</summary>
    internal static ulong FractionMask
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => (1UL << T.FractionBits) - 1;
    }

    /// <summary>The exponent field.</summary>
    internal static ulong ExponentMask
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => (ulong)MaxBiased << T.FractionBits;
    }

    /// <summary>The hidden bit of a normal significand.</summary>
    internal static ulong HiddenBit
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => 1UL << T.FractionBits;
    }

    /// <summary>The quiet bit (the fraction's top bit; Vol. 1, 4.8.3.4).</summary>
    internal static ulong QuietBit
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => 1UL << (T.FractionBits - 1);
    }

    /// <summary>The default NaN, "QNaN floating-point indefinite": sign set, quiet bit set (Vol. 1, Table 4-3).</summary>
    internal static ulong DefaultNaN => SignBit | ExponentMask | QuietBit;

    /// <summary>The largest finite magnitude.</summary>
    internal static ulong MaxFinite => ExponentMask - 1;

    /// <summary>Whether <paramref name="x"/> is a NaN.</summary>
    public static bool IsNaN(ulong x) => (x & ~SignBit) > ExponentMask;

    /// <summary>Whether <paramref name="x"/> is a signalling NaN.</summary>
    public static bool IsSignalingNaN(ulong x) => IsNaN(x) && (x & QuietBit) == 0;

    /// <summary>Whether <paramref name="x"/> is an infinity.</summary>
    public static bool IsInfinity(ulong x) => (x & ~SignBit) == ExponentMask;

    /// <summary>Whether <paramref name="x"/> is a zero of either sign.</summary>
    public static bool IsZero(ulong x) => (x & ~SignBit) == 0;

    /// <summary>Whether <paramref name="x"/> is a denormal (exponent field zero, fraction not).</summary>
    public static bool IsDenormal(ulong x) => (x & ExponentMask) == 0 && (x & FractionMask) != 0;

    /// <summary>Whether the sign bit is set.</summary>
    public static bool IsNegative(ulong x) => (x & SignBit) != 0;

    /// <summary>The rounding mode MXCSR selects.</summary>
    public static SseRounding Rounding(uint mxcsr) => (SseRounding)((mxcsr & MxcsrBits.RoundingMask) >> MxcsrBits.RoundingShift);

    /// <summary>DAZ: a denormal becomes a zero of its sign (Vol. 1, 10.2.3.4); anything else is unchanged.</summary>
    public static ulong DenormalsAreZeros(ulong x, uint mxcsr) => (mxcsr & MxcsrBits.Daz) != 0 && IsDenormal(x) ? x & SignBit : x;

    /// <summary>The NaN result of a two-operand operation with at least one NaN (Vol. 1, Table 4-7, SSE column), with IE for an SNaN.</summary>
    public static ulong PropagateNaN(ulong a, ulong b, ref uint flags)
    {
        if (IsSignalingNaN(a) || IsSignalingNaN(b))
        {
            flags |= MxcsrBits.Ie;
        }

        return (IsNaN(a) ? a : b) | QuietBit;
    }

    /// <summary>The DE flag for operands after DAZ (a denormal left is one the operation reads).</summary>
    private static uint DenormalFlag(ulong a, ulong b) => IsDenormal(a) || IsDenormal(b) ? MxcsrBits.De : 0;

    /// <summary>Unpacks a finite value to sign, integer significand and exponent: value = sig * 2^exp.</summary>
    internal static void Unpack(ulong x, out bool sign, out int exp, out ulong sig)
    {
        sign = (x & SignBit) != 0;
        int biased = (int)((x & ExponentMask) >> F);
        ulong fraction = x & FractionMask;
        if (biased == 0)
        {
            exp = Emin - F;
            sig = fraction;
        }
        else
        {
            exp = biased - Bias - F;
            sig = fraction | HiddenBit;
        }
    }

    /// <summary>Unpacks a finite nonzero value with its significand normalised to exactly <see cref="P"/> bits.</summary>
    private static void UnpackNormalized(ulong x, out bool sign, out int exp, out ulong sig)
    {
        Unpack(x, out sign, out exp, out sig);
        int shift = System.Numerics.BitOperations.LeadingZeroCount(sig) - (64 - P);
        sig <<= shift;
        exp -= shift;
    }

    /// <summary>
    /// Drops the low <paramref name="shift"/> bits of <paramref name="sig"/> (plus the sticky bits below it), rounding in
    /// <paramref name="mode"/>; a negative shift scales up exactly.
    /// </summary>
    internal static UInt128 ShiftRound(UInt128 sig, int shift, bool sticky, SseRounding mode, bool sign, out bool inexact)
    {
        if (shift <= 0)
        {
            inexact = sticky;
            return sig << -shift;
        }

        UInt128 q;
        bool roundBit;
        bool rest;
        if (shift > 128)
        {
            q = UInt128.Zero;
            roundBit = false;
            rest = sig != UInt128.Zero || sticky;
        }
        else if (shift == 128)
        {
            q = UInt128.Zero;
            roundBit = (sig >> 127) != UInt128.Zero;
            rest = (sig & (UInt128.MaxValue >> 1)) != UInt128.Zero || sticky;
        }
        else
        {
            q = sig >> shift;
            roundBit = ((sig >> (shift - 1)) & UInt128.One) != UInt128.Zero;
            rest = (sig & ((UInt128.One << (shift - 1)) - UInt128.One)) != UInt128.Zero || sticky;
        }

        inexact = roundBit || rest;
        bool increment = mode switch
        {
            SseRounding.Nearest => roundBit && (rest || (q & UInt128.One) != UInt128.Zero),
            SseRounding.Up => inexact && !sign,
            SseRounding.Down => inexact && sign,
            _ => false,
        };
        return increment ? q + UInt128.One : q;
    }

    /// <summary>
    /// Rounds the exact value (-1)^sign * (sig + sticky) * 2^exp to the format in MXCSR's mode, with overflow, underflow
    /// (tininess after rounding), FTZ and precision. <paramref name="sticky"/> means nonzero bits below sig's last bit; a
    /// caller that sets it gives sig at least <see cref="P"/> + 2 bits, so the round bit is always inside sig.
    /// </summary>
    internal static ulong RoundPack(bool sign, int exp, UInt128 sig, bool sticky, uint mxcsr, ref uint flags)
    {
        ulong signBit = sign ? SignBit : 0;
        if (sig == UInt128.Zero)
        {
            return signBit;
        }

        SseRounding mode = Rounding(mxcsr);
        int bits = 128 - (int)UInt128.LeadingZeroCount(sig);
        int top = exp + bits - 1;
        bool tiny = false;
        if (top < Emin - 1)
        {
            tiny = true;
        }
        else if (top == Emin - 1)
        {
            // After rounding to the format's precision with an unbounded exponent, does the value reach 2^Emin?
            UInt128 unbounded = ShiftRound(sig, bits - P, sticky, mode, sign, out _);
            tiny = (unbounded >> P) == UInt128.Zero;
        }

        int shift = top < Emin ? Emin - F - exp : bits - P;
        UInt128 q = ShiftRound(sig, shift, sticky, mode, sign, out bool inexact);
        int e = exp + shift;
        if ((q >> P) != UInt128.Zero)
        {
            q >>= 1;
            e++;
        }

        ulong result;
        ulong mantissa = (ulong)q;
        if (mantissa >= HiddenBit)
        {
            long biased = (long)e + F + Bias;
            if (biased >= MaxBiased)
            {
                flags |= MxcsrBits.Oe | MxcsrBits.Pe;
                return signBit | OverflowMagnitude(mode, sign);
            }

            result = signBit | ((ulong)biased << F) | (mantissa & FractionMask);
        }
        else
        {
            result = signBit | mantissa;
        }

        if (tiny)
        {
            if ((mxcsr & MxcsrBits.Um) == 0)
            {
                // Unmasked: UE whether exact or not (Vol. 1, 4.9.1.5); the caller raises #XM and stores nothing.
                flags |= MxcsrBits.Ue | (inexact ? MxcsrBits.Pe : 0);
                return result;
            }

            if ((mxcsr & MxcsrBits.Ftz) != 0)
            {
                flags |= MxcsrBits.Ue | MxcsrBits.Pe;
                return signBit;
            }

            if (inexact)
            {
                flags |= MxcsrBits.Ue | MxcsrBits.Pe;
            }

            return result;
        }

        if (inexact)
        {
            flags |= MxcsrBits.Pe;
        }

        return result;
    }

    /// <summary>The magnitude of an overflowed result: infinity, or the largest finite value when rounding toward zero or away from the sign's infinity (Vol. 1, Table 4-10).</summary>
    private static ulong OverflowMagnitude(SseRounding mode, bool sign) => mode switch
    {
        SseRounding.Nearest => ExponentMask,
        SseRounding.Up => sign ? MaxFinite : ExponentMask,
        SseRounding.Down => sign ? ExponentMask : MaxFinite,
        _ => MaxFinite,
    };

    /// <summary>
    /// The exact value of a finite operand as a signed magnitude, for comparisons: larger keys are larger values, both
    /// zeros map to 0.
    /// </summary>
    internal static long OrderKey(ulong x)
    {
        long magnitude = (long)(x & ~SignBit);
        return (x & SignBit) != 0 ? -magnitude : magnitude;
    }

    /// <summary>The integer square root of <paramref name="value"/>, with whether it was exact.</summary>
    internal static UInt128 SquareRoot(UInt128 value, out bool exact)
    {
        UInt128 remainder = value;
        UInt128 result = UInt128.Zero;
        UInt128 bit = UInt128.One << 126;
        while (bit > remainder)
        {
            bit >>= 2;
        }

        while (bit != UInt128.Zero)
        {
            if (remainder >= result + bit)
            {
                remainder -= result + bit;
                result = (result >> 1) + bit;
            }
            else
            {
                result >>= 1;
            }

            bit >>= 2;
        }

        exact = remainder == UInt128.Zero;
        return result;
    }
}
