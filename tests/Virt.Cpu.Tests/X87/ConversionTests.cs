using System.Numerics;
using FsCheck.Xunit;
using Virt.Cpu.X87;
using Xunit;

namespace Virt.Cpu.Tests.X87;

/// <summary>Loads and stores of single, double, integer and packed BCD formats.</summary>
public sealed class ConversionTests
{
    private static readonly X87RoundingControl[] s_roundings = [X87RoundingControl.Nearest, X87RoundingControl.Down, X87RoundingControl.Up, X87RoundingControl.Zero];

    [Property(MaxTest = 1000)]
    public void Single_round_trips(uint bits)
    {
        X87Context ctx = X87Context.Masked();
        Float80 x = X87Math.FromSingle(bits, ref ctx);
        uint back = X87Math.ToSingle(x, ref ctx);
        bool snan = (bits & 0x7F80_0000) == 0x7F80_0000 && (bits & 0x7F_FFFF) != 0 && (bits & 0x40_0000) == 0;
        Assert.Equal(snan ? bits | 0x40_0000 : bits, back);
        bool denormal = (bits & 0x7F80_0000) == 0 && (bits & 0x7F_FFFF) != 0;
        Assert.Equal((snan ? X87Exceptions.Invalid : 0) | (denormal ? X87Exceptions.Denormal : 0), ctx.Flags);
    }

    [Property(MaxTest = 1000)]
    public void Double_round_trips_and_matches_the_host_value(ulong bits)
    {
        X87Context ctx = X87Context.Masked();
        Float80 x = X87Math.FromDouble(bits, ref ctx);
        ulong back = X87Math.ToDouble(x, ref ctx);
        bool nan = (bits & 0x7FF0_0000_0000_0000) == 0x7FF0_0000_0000_0000 && (bits & 0xF_FFFF_FFFF_FFFF) != 0;
        bool snan = nan && (bits & 0x8_0000_0000_0000) == 0;
        Assert.Equal(snan ? bits | 0x8_0000_0000_0000 : bits, back);

        // The value itself, from the IEEE 754 decoding of the double.
        ulong biased = (bits >> 52) & 0x7FF;
        if (!nan && biased != 0x7FF && (bits << 1) != 0)
        {
            BigInteger m = biased == 0 ? (BigInteger)(bits & 0xF_FFFF_FFFF_FFFF) : (BigInteger)((bits & 0xF_FFFF_FFFF_FFFF) | (1UL << 52));
            int me = (biased == 0 ? 1 : (int)biased) - 1075;
            (BigInteger s, int e) = ReferenceArithmetic.Exact(x);
            int lsb = Math.Min(me, e);
            Assert.Equal(m << (me - lsb), s << (e - lsb));
            Assert.Equal(bits >> 63 != 0, x.IsNegative);
        }
    }

    [Property(MaxTest = 300)]
    public void ToDouble_and_ToSingle_round_like_the_reference(ulong raw, ushort exponentRaw, byte pattern, bool negative)
    {
        // Exponents around the double and single ranges, including their denormal and overflow regions.
        int[] centers = [1023, 0, -1022, -1074, 127, -126, -149];
        int center = centers[exponentRaw % centers.Length];
        int exponent = center + (exponentRaw / 7 % 80) - 40;
        ulong s = X87Operands.Significand(raw, pattern) | (1UL << 63);
        var x = new Float80(negative, exponent + 16383, s);
        foreach (X87RoundingControl rc in s_roundings)
        {
            CheckNarrow(x, rc, 53, -1022, 1023, X87Math.ToDouble);
            CheckNarrow(x, rc, 24, -126, 127, (in Float80 v, ref X87Context c) => X87Math.ToSingle(v, ref c));
        }
    }

    private delegate ulong Narrow(in Float80 x, ref X87Context ctx);

    private static void CheckNarrow(Float80 x, X87RoundingControl rc, int p, int minExponent, int maxExponent, Narrow narrow)
    {
        var ctx = X87Context.Masked(X87PrecisionControl.Single, rc);
        ulong actual = narrow(x, ref ctx);
        (BigInteger sig, int e) = ReferenceArithmetic.Exact(x);
        ReferenceArithmetic.Rounded r = ReferenceArithmetic.Round(x.IsNegative, k => ReferenceArithmetic.Rational(sig, 1)(k + e), 10 - e, p, minExponent, maxExponent, rc);
        int fractionBits = p - 1;
        int exponentBits = p == 53 ? 11 : 8;
        int bias = maxExponent;
        ulong expected = x.IsNegative ? 1UL << (fractionBits + exponentBits) : 0;
        if (r.Infinity)
        {
            expected |= ((1UL << exponentBits) - 1) << fractionBits;
        }
        else
        {
            bool normal = (r.N >> fractionBits) != 0;
            expected |= (normal ? (ulong)(r.Exponent + bias) : 0) << fractionBits;
            expected |= (ulong)(r.N & ((BigInteger.One << fractionBits) - 1));
        }

        Assert.True(expected == actual, $"x={x} rc={rc} p={p}: expected {expected:X16} got {actual:X16}");
        Assert.Equal(r.Flags, ctx.Flags);
        Assert.Equal(r.Up, ctx.RoundedUp);
    }

    [Property(MaxTest = 500)]
    public void ToInteger_rounds_like_the_reference(ulong raw, byte exponentRaw, byte pattern, bool negative)
    {
        ulong s = X87Operands.Significand(raw, pattern) | (1UL << 63);
        int exponent = (exponentRaw % 70) - 3;
        var x = new Float80(negative, exponent + 16383, s);
        (BigInteger sig, int e) = ReferenceArithmetic.Exact(x);
        foreach (int bits in new[] { 16, 32, 64 })
        {
            foreach (X87RoundingControl rc in s_roundings)
            {
                foreach (bool truncate in new[] { false, true })
                {
                    X87RoundingControl mode = truncate ? X87RoundingControl.Zero : rc;
                    BigInteger scaled = e >= 0 ? sig << e : sig >> -e;
                    bool exact = e >= 0 || (scaled << -e) == sig;
                    BigInteger twiceFloor = e + 1 >= 0 ? sig << (e + 1) : sig >> -(e + 1);
                    bool half = !twiceFloor.IsEven;
                    bool up = !exact && mode switch
                    {
                        X87RoundingControl.Nearest => half && (((twiceFloor << -(e + 1)) != sig) || !scaled.IsEven),
                        X87RoundingControl.Down => negative,
                        X87RoundingControl.Up => !negative,
                        _ => false,
                    };
                    BigInteger magnitude = up ? scaled + 1 : scaled;
                    BigInteger value = negative ? -magnitude : magnitude;
                    bool inRange = value >= -(BigInteger.One << (bits - 1)) && value < (BigInteger.One << (bits - 1));
                    var ctx = X87Context.Masked(X87PrecisionControl.Extended, rc);
                    long actual = X87Math.ToInteger(x, bits, truncate, ref ctx);
                    if (inRange)
                    {
                        Assert.Equal((long)value, actual);
                        Assert.Equal(exact ? X87Exceptions.None : X87Exceptions.Precision, ctx.Flags);
                        Assert.Equal(up, ctx.RoundedUp);
                    }
                    else
                    {
                        Assert.Equal(-(1L << (bits - 1)) | (bits == 64 ? long.MinValue : 0), actual);
                        Assert.Equal(X87Exceptions.Invalid, ctx.Flags);
                    }
                }
            }
        }
    }

    [Theory]
    [InlineData("4000 A000000000000000", 16, false, 2L)]
    [InlineData("4000 E000000000000000", 16, false, 4L)]
    [InlineData("4000 B9999999999999A0", 32, true, 2L)] // FISTTP 2.9 -> 2
    [InlineData("400E 8000000000000000", 16, false, -32768L)] // 32768: out of range, integer indefinite
    [InlineData("C00E 8000000000000000", 16, false, -32768L)] // -32768 fits
    [InlineData("7FFF C000000000000000", 64, false, long.MinValue)]
    public void ToInteger_cases(string x, int bits, bool truncate, long expected)
    {
        X87Context ctx = X87Context.Masked();
        Assert.Equal(expected, X87Math.ToInteger(Float80.Parse(x), bits, truncate, ref ctx));
    }

    [Property(MaxTest = 500)]
    public void Packed_bcd_round_trips(long raw, bool negative)
    {
        long value = Math.Abs(raw % 1_000_000_000_000_000_000);
        Span<byte> bcd = stackalloc byte[10];
        X87Context ctx = X87Context.Masked();
        Float80 x = X87Math.FromInt64(value).WithSign(negative);
        X87Math.ToPackedBcd(x, bcd, ref ctx);
        Assert.Equal(X87Exceptions.None, ctx.Flags);
        byte[] bytes = bcd.ToArray();
        string digits = string.Concat(Enumerable.Range(0, 9).Reverse().Select(i => bytes[i].ToString("X2", System.Globalization.CultureInfo.InvariantCulture)));
        Assert.Equal(value.ToString("D18", System.Globalization.CultureInfo.InvariantCulture), digits);
        Assert.Equal(negative ? 0x80 : 0, bcd[9]);
        Assert.Equal(x, X87Math.FromPackedBcd(bcd));
    }

    [Fact]
    public void Packed_bcd_cases()
    {
        Span<byte> bcd = stackalloc byte[10];
        X87Context ctx = X87Context.Masked();
        // -1234.5 rounds to nearest even -1234.
        X87Math.ToPackedBcd(Float80.Parse("C009 9A50000000000000"), bcd, ref ctx);
        Assert.Equal(new byte[] { 0x34, 0x12, 0, 0, 0, 0, 0, 0, 0, 0x80 }, bcd.ToArray());
        Assert.Equal(X87Exceptions.Precision, ctx.Flags);

        // 10^18 does not fit: BCD indefinite FFFF C000000000000000.
        ctx = X87Context.Masked();
        X87Math.ToPackedBcd(X87Math.FromInt64(1_000_000_000_000_000_000), bcd, ref ctx);
        Assert.Equal(new byte[] { 0, 0, 0, 0, 0, 0, 0, 0xC0, 0xFF, 0xFF }, bcd.ToArray());
        Assert.Equal(X87Exceptions.Invalid, ctx.Flags);

        // -0 keeps its sign both ways.
        byte[] minusZero = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0x80];
        Assert.Equal(Float80.NegativeZero, X87Math.FromPackedBcd(minusZero));
    }

    [Fact]
    public void Nan_payloads_narrow_and_widen()
    {
        X87Context ctx = X87Context.Masked();
        Assert.Equal(0x7FC0_0001u, X87Math.ToSingle(new Float80(0x7FFF, 0xC000_0100_0000_0000), ref ctx));
        Assert.Equal(X87Math.SingleIndefinite, X87Math.ToSingle(Float80.Indefinite, ref ctx));
        Assert.Equal(X87Math.DoubleIndefinite, X87Math.ToDouble(Float80.Indefinite, ref ctx));
        Assert.Equal(X87Exceptions.None, ctx.Flags);
        Assert.Equal(Float80.Indefinite, X87Math.FromSingle(X87Math.SingleIndefinite, ref ctx));
        Assert.Equal(X87Math.SingleIndefinite, X87Math.ToSingle(new Float80(0x3FFF, 0x4000_0000_0000_0000), ref ctx));
        Assert.Equal(X87Exceptions.Invalid, ctx.Flags);
    }

    [Property(MaxTest = 300)]
    public void Fprem_loop_matches_exact_remainder(ulong sa, ushort ea, ulong sb, ushort eb, bool ieee)
    {
        var a = new Float80(false, 0x3FFF + (ea % 400), sa | (1UL << 63));
        var b = new Float80(false, 0x3FFF - 100 + (eb % 200), sb | (1UL << 63));
        (BigInteger ma, int xa) = ReferenceArithmetic.Exact(a);
        (BigInteger mb, int xb) = ReferenceArithmetic.Exact(b);
        int lsb = Math.Min(xa, xb);
        BigInteger na = ma << (xa - lsb);
        BigInteger nb = mb << (xb - lsb);
        BigInteger q = BigInteger.DivRem(na, nb, out BigInteger r);
        if (ieee && ((2 * r > nb) || (2 * r == nb && !q.IsEven)))
        {
            q += 1;
            r -= nb;
        }

        X87Context ctx = X87Context.Masked();
        Float80 x = a;
        int bits;
        bool incomplete;
        int rounds = 0;
        do
        {
            x = X87Math.Remainder(x, b, ieee, ref ctx, out bits, out incomplete);
            rounds++;
        }
        while (incomplete);

        // Each partial step lowers the exponent difference D to at most 32 * (floor(D / 32) - 1) (N = 32 + D mod 32).
        int difference = a.BiasedExponent - b.BiasedExponent;
        Assert.True(rounds <= 2 + (Math.Max(difference, 0) / 32));
        Assert.Equal((int)(q & 7), bits);
        Assert.Equal(X87Exceptions.None, ctx.Flags);
        (BigInteger mx, int xx) = ReferenceArithmetic.Exact(x);
        BigInteger actual = (x.IsNegative ? -mx : mx) << (xx - lsb);
        Assert.Equal(r, actual);
    }
}
