using System.Numerics;

namespace Virt.Cpu.X87;

internal static partial class X87Math
{
    /// <summary>Single-precision QNaN indefinite.</summary>
    public const uint SingleIndefinite = 0xFFC0_0000;

    /// <summary>Double-precision QNaN indefinite.</summary>
    public const ulong DoubleIndefinite = 0xFFF8_0000_0000_0000;

    /// <summary>The 16-bit integer indefinite; the 32- and 64-bit ones are the most negative values alike.</summary>
    public const short Int16Indefinite = short.MinValue;

    /// <summary>FLD m32fp: exact widening. An SNaN raises #IA and loads quieted; a denormal raises #D.</summary>
    public static Float80 FromSingle(uint bits, ref X87Context ctx) =>
        Widen(bits >> 31 != 0, (int)((bits >> 23) & 0xFF), bits & 0x7F_FFFF, fractionBits: 23, exponentBias: 127, maxBiased: 0xFF, ref ctx);

    /// <summary>FLD m64fp: exact widening, as <see cref="FromSingle"/>.</summary>
    public static Float80 FromDouble(ulong bits, ref X87Context ctx) =>
        Widen(bits >> 63 != 0, (int)((bits >> 52) & 0x7FF), bits & 0xF_FFFF_FFFF_FFFF, fractionBits: 52, exponentBias: 1023, maxBiased: 0x7FF, ref ctx);

    private static Float80 Widen(bool negative, int biased, ulong fraction, int fractionBits, int exponentBias, int maxBiased, ref X87Context ctx)
    {
        ctx.RoundedUp = false;
        ulong aligned = fraction << (63 - fractionBits);
        if (biased == maxBiased)
        {
            if (fraction == 0)
            {
                return Float80.PositiveInfinity.WithSign(negative);
            }

            if ((aligned & Float80.QuietBit) == 0)
            {
                ctx.Raise(X87Exceptions.Invalid);
            }

            return new Float80(negative, Float80.MaxBiasedExponent, Float80.IntegerBit | Float80.QuietBit | aligned);
        }

        if (biased == 0)
        {
            if (fraction == 0)
            {
                return Float80.PositiveZero.WithSign(negative);
            }

            ctx.Raise(X87Exceptions.Denormal);
            int lz = BitOperations.LeadingZeroCount(aligned);
            return new Float80(negative, 1 - exponentBias - lz + Float80.Bias, aligned << lz);
        }

        return new Float80(negative, biased - exponentBias + Float80.Bias, Float80.IntegerBit | aligned);
    }

    /// <summary>
    /// FST m32fp: rounds to single precision by the rounding control (PC does not apply). NaNs keep the top
    /// of their payload, quieted; an SNaN or unsupported operand raises #IA. Unmasked #O/#U set
    /// <see cref="X87Context.SuppressWrite"/> (no store, Intel SDM Vol. 1, 8.5.4).
    /// </summary>
    public static uint ToSingle(in Float80 x, ref X87Context ctx) =>
        (uint)Narrow(x, fractionBits: 23, exponentBias: 127, maxBiased: 0xFF, SingleIndefinite, ref ctx);

    /// <summary>FST m64fp, as <see cref="ToSingle"/>.</summary>
    public static ulong ToDouble(in Float80 x, ref X87Context ctx) =>
        Narrow(x, fractionBits: 52, exponentBias: 1023, maxBiased: 0x7FF, DoubleIndefinite, ref ctx);

    private static ulong Narrow(in Float80 x, int fractionBits, int exponentBias, int maxBiased, ulong indefinite, ref X87Context ctx)
    {
        ctx.RoundedUp = false;
        int signShift = fractionBits + BitOperations.PopCount((uint)maxBiased);
        ulong sign = x.IsNegative ? 1UL << signShift : 0;
        ulong infinity = sign | ((ulong)maxBiased << fractionBits);
        switch (x.Class)
        {
            case Float80Class.Unsupported:
                ctx.Raise(X87Exceptions.Invalid);
                return indefinite;
            case Float80Class.SignalingNaN:
            case Float80Class.QuietNaN:
                if (x.Class == Float80Class.SignalingNaN)
                {
                    ctx.Raise(X87Exceptions.Invalid);
                }

                return infinity | ((x.Significand | Float80.QuietBit) << 1 >> (64 - fractionBits));
            case Float80Class.Infinity:
                return infinity;
            case Float80Class.Zero:
                return sign;
        }

        ulong s = Normalize(x, out int e);
        int p = fractionBits + 1;
        Rounded r = Round(x.IsNegative, e, (UInt128)s << 64, p, 1 - exponentBias, maxBiased - 1 - exponentBias, registerDestination: false, ref ctx);
        if (r.IsInfinity)
        {
            return infinity;
        }

        bool normal = (r.Significand >> fractionBits) != 0;
        ulong biased = normal ? (ulong)(r.Exponent + exponentBias) : 0;
        return sign | (biased << fractionBits) | (r.Significand & ((1UL << fractionBits) - 1));
    }

    /// <summary>
    /// FIST/FISTP (<paramref name="truncate"/> false: rounding control) and FISTTP (true: toward zero) to a
    /// signed integer of <paramref name="bits"/> bits (16, 32 or 64). NaN, infinity, unsupported or out of
    /// range raise #IA and give the integer indefinite (the most negative value); the caller stores the low
    /// <paramref name="bits"/> bits unless <see cref="X87Context.SuppressWrite"/>.
    /// </summary>
    public static long ToInteger(in Float80 x, int bits, bool truncate, ref X87Context ctx)
    {
        ctx.RoundedUp = false;
        long indefinite = bits == 64 ? long.MinValue : -(1L << (bits - 1));
        Float80Class c = x.Class;
        if (c is Float80Class.Unsupported or Float80Class.QuietNaN or Float80Class.SignalingNaN or Float80Class.Infinity)
        {
            ctx.Raise(X87Exceptions.Invalid);
            return indefinite;
        }

        if (c == Float80Class.Zero)
        {
            return 0;
        }

        X87RoundingControl rounding = truncate ? X87RoundingControl.Zero : ctx.Rounding;
        ulong s = Normalize(x, out int e);
        if (e >= 64)
        {
            ctx.Raise(X87Exceptions.Invalid);
            return indefinite;
        }

        UInt128 n = RoundBits((UInt128)s << 64, 64 + 63 - e, x.IsNegative, rounding, out bool inexact, out bool increment);
        UInt128 limit = (UInt128.One << (bits - 1)) - (x.IsNegative ? UInt128.Zero : UInt128.One);
        if (n > limit)
        {
            ctx.Raise(X87Exceptions.Invalid);
            return indefinite;
        }

        SetPrecision(inexact, increment, ref ctx);
        long magnitude = (long)(ulong)n;
        return x.IsNegative ? -magnitude : magnitude;
    }

    /// <summary>
    /// FBLD: an 18-digit packed BCD integer (bytes 0-8 two digits each, low digit in the low nibble; bit 7
    /// of byte 9 the sign), loaded exactly. Invalid digits are undefined on hardware; we take the nibble's value.
    /// </summary>
    public static Float80 FromPackedBcd(ReadOnlySpan<byte> source)
    {
        long value = 0;
        for (int i = 8; i >= 0; i--)
        {
            value = (value * 100) + ((source[i] >> 4) * 10) + (source[i] & 0xF);
        }

        bool negative = (source[9] & 0x80) != 0;
        return FromInt64(value).WithSign(negative);
    }

    /// <summary>
    /// FBSTP: rounds by the rounding control and stores 18 packed BCD digits. NaN, infinity, unsupported or
    /// a magnitude above 10^18 - 1 raise #IA and store the BCD indefinite (FFFF C000000000000000) when
    /// masked; with <see cref="X87Context.SuppressWrite"/> the caller must not store.
    /// </summary>
    public static void ToPackedBcd(in Float80 x, Span<byte> destination, ref X87Context ctx)
    {
        const long Limit = 999_999_999_999_999_999;
        ctx.RoundedUp = false;
        destination[..10].Clear();
        Float80Class c = x.Class;
        long value = 0;
        bool invalid = c is Float80Class.Unsupported or Float80Class.QuietNaN or Float80Class.SignalingNaN or Float80Class.Infinity;
        if (!invalid && c != Float80Class.Zero)
        {
            ulong s = Normalize(x, out int e);
            if (e >= 60)
            {
                invalid = true;
            }
            else
            {
                UInt128 n = RoundBits((UInt128)s << 64, 64 + 63 - e, x.IsNegative, ctx.Rounding, out bool inexact, out bool increment);
                if (n > Limit)
                {
                    invalid = true;
                }
                else
                {
                    SetPrecision(inexact, increment, ref ctx);
                    value = (long)n;
                }
            }
        }

        if (invalid)
        {
            ctx.Raise(X87Exceptions.Invalid);
            destination[9] = 0xFF;
            destination[8] = 0xFF;
            destination[7] = 0xC0;
            return;
        }

        for (int i = 0; i < 9; i++)
        {
            int pair = (int)(value % 100);
            value /= 100;
            destination[i] = (byte)(((pair / 10) << 4) | (pair % 10));
        }

        destination[9] = x.IsNegative ? (byte)0x80 : (byte)0;
    }
}
