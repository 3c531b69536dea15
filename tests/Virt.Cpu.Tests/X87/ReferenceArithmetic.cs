using System.Numerics;
using Virt.Cpu.X87;

namespace Virt.Cpu.Tests.X87;

/// <summary>
/// A slow, obviously correct model of x87 rounding: values are exact rationals (or exact square roots)
/// of BigIntegers, and rounding asks for floor(value * 2^k) and whether it is exact. Written from IEEE 754
/// and Intel SDM Vol. 1, 4.9.1, independently of <see cref="X87Math"/>. All exceptions masked.
/// </summary>
internal static class ReferenceArithmetic
{
    internal readonly record struct Outcome(Float80 Value, X87Exceptions Flags, bool RoundedUp);

    /// <summary>floor(|value| * 2^k) and whether that is exact.</summary>
    internal delegate (BigInteger Floor, bool Exact) Scaled(int k);

    public static (BigInteger Significand, int Exponent) Exact(Float80 x)
    {
        int biased = x.BiasedExponent;
        // value = significand * 2^(exponent); denormals use the exponent of biased 1.
        return (x.Significand, (biased == 0 ? 1 : biased) - 16383 - 63);
    }

    public static Scaled Rational(BigInteger num, BigInteger den) => k =>
    {
        BigInteger n = num;
        BigInteger d = den;
        if (k >= 0)
        {
            n <<= k;
        }
        else
        {
            d <<= -k;
        }

        BigInteger q = BigInteger.DivRem(n, d, out BigInteger r);
        return (q, r.IsZero);
    };

    /// <summary>sqrt(s * 2^e) with e even.</summary>
    public static Scaled SquareRootOf(BigInteger s, int e) => k =>
    {
        // sqrt(s * 2^e) * 2^k = sqrt(s * 2^(e + 2k)).
        int shift = e + (2 * k);
        BigInteger n;
        bool divisible = true;
        if (shift >= 0)
        {
            n = s << shift;
        }
        else
        {
            n = s >> -shift;
            divisible = (n << -shift) == s;
        }

        BigInteger root = ISqrt(n);
        return (root, divisible && root * root == n);
    };

    public static BigInteger ISqrt(BigInteger n)
    {
        if (n.IsZero)
        {
            return 0;
        }

        BigInteger x = BigInteger.One << (int)((n.GetBitLength() / 2) + 1);
        while (true)
        {
            BigInteger y = (x + (n / x)) >> 1;
            if (y >= x)
            {
                return x;
            }

            x = y;
        }
    }

    /// <summary>A rounded value: N * 2^(Exponent - (p - 1)), N &lt; 2^p, N's bit p-1 clear for a denormal.</summary>
    internal readonly record struct Rounded(bool Negative, BigInteger N, int Exponent, bool Infinity, X87Exceptions Flags, bool Up);

    /// <summary>Rounds a positive real to an extended register with p significand bits (masked responses).</summary>
    public static Outcome Round(bool negative, Scaled value, int kGuess, int p, X87RoundingControl rc)
    {
        Rounded r = Round(negative, value, kGuess, p, -16382, 16383, rc);
        if (r.Infinity)
        {
            return new Outcome(new Float80(negative, 0x7FFF, 1UL << 63), r.Flags, r.Up);
        }

        ulong sig = (ulong)r.N << (64 - p);
        int biased = (sig >> 63) != 0 ? r.Exponent + 16383 : 0;
        return new Outcome(new Float80(negative, biased, sig), r.Flags, r.Up);
    }

    /// <summary>Rounds a positive real to p significand bits in the normal exponent range [minExponent, maxExponent].</summary>
    public static Rounded Round(bool negative, Scaled value, int kGuess, int p, int minExponent, int maxExponent, X87RoundingControl rc)
    {
        int k = kGuess;
        BigInteger f;
        while (true)
        {
            f = value(k).Floor;
            if (f.GetBitLength() >= p + 4)
            {
                break;
            }

            k += 64;
        }

        int e = (int)f.GetBitLength() - 1 - k;
        (BigInteger n, bool inexact, bool up) = RoundAt(value, p - 1 - e, negative, rc);
        if (n == BigInteger.One << p)
        {
            e++;
            n >>= 1;
        }

        X87Exceptions flags = X87Exceptions.None;
        if (e < minExponent)
        {
            (n, inexact, up) = RoundAt(value, p - 1 - minExponent, negative, rc);
            if (inexact)
            {
                flags |= X87Exceptions.Underflow | X87Exceptions.Precision;
            }

            return new Rounded(negative, n, minExponent, false, flags, up);
        }

        if (e > maxExponent)
        {
            bool toInfinity = rc == X87RoundingControl.Nearest || (rc == X87RoundingControl.Down && negative) || (rc == X87RoundingControl.Up && !negative);
            flags = X87Exceptions.Overflow | X87Exceptions.Precision;
            return new Rounded(negative, toInfinity ? 0 : (BigInteger.One << p) - 1, maxExponent, toInfinity, flags, toInfinity);
        }

        if (inexact)
        {
            flags |= X87Exceptions.Precision;
        }

        return new Rounded(negative, n, e, false, flags, up);
    }

    /// <summary>Rounds value * 2^k to an integer in the given direction.</summary>
    private static (BigInteger N, bool Inexact, bool Up) RoundAt(Scaled value, int k, bool negative, X87RoundingControl rc)
    {
        (BigInteger twice, bool exact) = value(k + 1);
        BigInteger n = twice >> 1;
        bool half = !twice.IsEven;
        bool inexact = half || !exact;
        if (!inexact)
        {
            return (n, false, false);
        }

        bool up = rc switch
        {
            X87RoundingControl.Nearest => half && (!exact || !n.IsEven),
            X87RoundingControl.Down => negative,
            X87RoundingControl.Up => !negative,
            _ => false,
        };
        return (up ? n + 1 : n, true, up);
    }

    private static Outcome Zero(bool negative) => new(new Float80(negative, 0, 0), X87Exceptions.None, false);

    public static Outcome Add(Float80 a, Float80 b, bool subtract, int p, X87RoundingControl rc)
    {
        (BigInteger sa, int ea) = Exact(a);
        (BigInteger sb, int eb) = Exact(b);
        if (a.IsNegative)
        {
            sa = -sa;
        }

        if (b.IsNegative ^ subtract)
        {
            sb = -sb;
        }

        int e = Math.Min(ea, eb);
        BigInteger sum = (sa << (ea - e)) + (sb << (eb - e));
        if (sum.IsZero)
        {
            bool zeroSign = (a.IsZero && b.IsZero && a.IsNegative == (b.IsNegative ^ subtract)) ? a.IsNegative : rc == X87RoundingControl.Down;
            return Zero(zeroSign);
        }

        return FromDyadic(sum, e, p, rc);
    }

    public static Outcome Multiply(Float80 a, Float80 b, int p, X87RoundingControl rc)
    {
        (BigInteger sa, int ea) = Exact(a);
        (BigInteger sb, int eb) = Exact(b);
        bool negative = a.IsNegative ^ b.IsNegative;
        BigInteger product = sa * sb;
        return product.IsZero ? Zero(negative) : FromDyadic(negative ? -product : product, ea + eb, p, rc);
    }

    public static Outcome Divide(Float80 a, Float80 b, int p, X87RoundingControl rc)
    {
        (BigInteger sa, int ea) = Exact(a);
        (BigInteger sb, int eb) = Exact(b);
        bool negative = a.IsNegative ^ b.IsNegative;
        if (sa.IsZero)
        {
            return Zero(negative);
        }

        // a / b = (sa / sb) * 2^(ea - eb).
        int shift = ea - eb;
        Scaled q = k => Rational(sa, sb)(k + shift);
        return Round(negative, q, 70 - (int)sa.GetBitLength() + (int)sb.GetBitLength() - shift, p, rc);
    }

    public static Outcome SquareRoot(Float80 a, int p, X87RoundingControl rc)
    {
        (BigInteger s, int e) = Exact(a);
        if (s.IsZero)
        {
            return Zero(a.IsNegative);
        }

        if ((e & 1) != 0)
        {
            s <<= 1;
            e--;
        }

        return Round(false, SquareRootOf(s, e), 70 - ((int)s.GetBitLength() / 2) - (e / 2), p, rc);
    }

    private static Outcome FromDyadic(BigInteger signedSignificand, int exponent, int p, X87RoundingControl rc)
    {
        bool negative = signedSignificand.Sign < 0;
        BigInteger magnitude = BigInteger.Abs(signedSignificand);
        Scaled v = k => Rational(magnitude, BigInteger.One)(k + exponent);
        return Round(negative, v, 70 - (int)magnitude.GetBitLength() - exponent, p, rc);
    }
}
