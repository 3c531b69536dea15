using System.Numerics;

namespace Virt.Cpu.Tests.Simd;

/// <summary>
/// An independent reference for the SSE arithmetic: the exact result as a BigInteger fraction (or, for square roots, the
/// fraction under the root), rounded once to binary32 or binary64 by plain rational comparisons, with the IEEE 754 flags as
/// Intel specifies them (SDM Vol. 1, 4.9.1 and 10.2.3: tininess after rounding, masked underflow needs inexactness, FTZ
/// gives a signed zero with UE and PE, DAZ reads denormals as zeros and reports no DE). Finite operands only; NaNs and
/// infinities are checked against the host and by fixed cases.
/// </summary>
internal sealed class ExactFloatReference
{
    public const uint Ie = 1, De = 2, Ze = 4, Oe = 8, Ue = 16, Pe = 32;

    private readonly int _fractionBits;
    private readonly int _exponentBits;

    public ExactFloatReference(int fractionBits, int exponentBits)
    {
        _fractionBits = fractionBits;
        _exponentBits = exponentBits;
    }

    public static ExactFloatReference Single { get; } = new(23, 8);

    public static ExactFloatReference Double { get; } = new(52, 11);

    private int Bias => (1 << (_exponentBits - 1)) - 1;

    private int MinExponent => 1 - Bias;

    private int MaxExponent => Bias;

    private ulong SignBit => 1UL << (_fractionBits + _exponentBits);

    private ulong ExponentField => (ulong)((1 << _exponentBits) - 1) << _fractionBits;

    /// <summary>Mode: 0 nearest, 1 down, 2 up, 3 toward zero. Control: MXCSR-style bits (FTZ 1 &lt;&lt; 15, DAZ 1 &lt;&lt; 6, UM 1 &lt;&lt; 11).</summary>
    public readonly record struct Control(int Mode, bool Ftz, bool Daz, bool UnderflowMasked);

    public bool IsDenormal(ulong bits) => (bits & ExponentField) == 0 && (bits & ~SignBit) != 0;

    /// <summary>The value of finite <paramref name="bits"/> as sign and a fraction num/den (den a power of two).</summary>
    private (bool Negative, BigInteger Num, BigInteger Den) Value(ulong bits, bool daz)
    {
        bool negative = (bits & SignBit) != 0;
        int biased = (int)((bits & ExponentField) >> _fractionBits);
        BigInteger fraction = bits & ((1UL << _fractionBits) - 1);
        if (biased == 0 && daz)
        {
            fraction = 0;
        }

        BigInteger significand = biased == 0 ? fraction : fraction + (BigInteger.One << _fractionBits);
        int exponent = (biased == 0 ? MinExponent : biased - Bias) - _fractionBits;
        return exponent >= 0 ? (negative, significand << exponent, BigInteger.One) : (negative, significand, BigInteger.One << -exponent);
    }

    public (ulong Bits, uint Flags) Add(ulong a, ulong b, Control control, bool subtract = false)
    {
        uint flags = Denormals(a, b, control);
        var (na, an, ad) = Value(a, control.Daz);
        var (nb, bn, bd) = Value(b, control.Daz);
        nb ^= subtract;
        BigInteger num = ((na ? -an : an) * bd) + ((nb ? -bn : bn) * ad);
        BigInteger den = ad * bd;
        if (num.IsZero)
        {
            bool bothZero = an.IsZero && bn.IsZero;
            bool negative = bothZero && na == nb ? na : control.Mode == 1;
            return (negative ? SignBit : 0, flags);
        }

        return Round(num.Sign < 0, Rational(BigInteger.Abs(num), den), control, flags);
    }

    public (ulong Bits, uint Flags) Multiply(ulong a, ulong b, Control control)
    {
        uint flags = Denormals(a, b, control);
        var (na, an, ad) = Value(a, control.Daz);
        var (nb, bn, bd) = Value(b, control.Daz);
        if (an.IsZero || bn.IsZero)
        {
            return (na != nb ? SignBit : 0, flags);
        }

        return Round(na != nb, Rational(an * bn, ad * bd), control, flags);
    }

    public (ulong Bits, uint Flags) Divide(ulong a, ulong b, Control control)
    {
        var (na, an, ad) = Value(a, control.Daz);
        var (nb, bn, bd) = Value(b, control.Daz);
        ulong sign = na != nb ? SignBit : 0;
        if (bn.IsZero)
        {
            // 0/0 invalid (default NaN); x/0 divide-by-zero, before any denormal report (SDM Vol. 1, 4.9.2).
            return an.IsZero ? (SignBit | ExponentField | (1UL << (_fractionBits - 1)), Ie) : (sign | ExponentField, Ze);
        }

        uint flags = Denormals(a, b, control);
        if (an.IsZero)
        {
            return (sign, flags);
        }

        return Round(na != nb, Rational(an * bd, ad * bn), control, flags);
    }

    public (ulong Bits, uint Flags) SquareRoot(ulong a, Control control)
    {
        var (negative, num, den) = Value(a, control.Daz);
        if (num.IsZero)
        {
            return (negative ? SignBit : 0, 0);
        }

        if (negative)
        {
            return (SignBit | ExponentField | (1UL << (_fractionBits - 1)), Ie);
        }

        return Round(false, Root(num, den), control, Denormals(a, a, control));
    }

    public (ulong Bits, uint Flags) FromInteger(long value, Control control) =>
        value == 0 ? (0, 0) : Round(value < 0, Rational(BigInteger.Abs(value), BigInteger.One), control, 0);

    /// <summary>CVTSS2SI and friends for finite operands: rounded (or truncated) to a signed integer of the width, IE and the indefinite value out of range.</summary>
    public (ulong Value, uint Flags) ToInteger(ulong a, int width, bool truncate, Control control)
    {
        var (negative, num, den) = Value(a, control.Daz);
        int mode = truncate ? 3 : control.Mode;
        BigInteger floor = BigInteger.DivRem(num, den, out BigInteger rest);
        int half = (rest * 2).CompareTo(den);
        bool up = !rest.IsZero && mode switch
        {
            0 => half > 0 || (half == 0 && !floor.IsEven),
            1 => negative,
            2 => !negative,
            _ => false,
        };
        BigInteger magnitude = up ? floor + 1 : floor;
        BigInteger value = negative ? -magnitude : magnitude;
        BigInteger limit = BigInteger.One << (width - 1);
        ulong mask = width == 64 ? ulong.MaxValue : uint.MaxValue;
        if (value >= limit || value < -limit)
        {
            return (1UL << (width - 1), Ie);
        }

        return ((ulong)(long)value & mask, rest.IsZero ? 0 : Pe);
    }

    private uint Denormals(ulong a, ulong b, Control control) => !control.Daz && (IsDenormal(a) || IsDenormal(b)) ? De : 0;

    /// <summary>floor(|r| / 2^q) and how the rest compares with one half (-1, 0, 1), with whether it is zero.</summary>
    private delegate (BigInteger Floor, int HalfComparison, bool Exact) Scaler(int q);

    private static Scaler Rational(BigInteger num, BigInteger den) => q =>
    {
        BigInteger n = q >= 0 ? num : num << -q;
        BigInteger d = q >= 0 ? den << q : den;
        BigInteger floor = BigInteger.DivRem(n, d, out BigInteger rest);
        return (floor, (rest * 2).CompareTo(d), rest.IsZero);
    };

    /// <summary>The scaler of sqrt(num/den): floor(sqrt(y)) = floor(sqrt(floor(y))) for y = num / (den 4^q).</summary>
    private static Scaler Root(BigInteger num, BigInteger den) => q =>
    {
        BigInteger n = q >= 0 ? num : num << (-2 * q);
        BigInteger d = q >= 0 ? den << (2 * q) : den;
        BigInteger floor = IntegerSquareRoot(n / d);
        bool exact = floor * floor * d == n;

        // sqrt(n/d) against floor + 1/2: 4n against (2 floor + 1)^2 d.
        BigInteger twice = (2 * floor) + 1;
        return (floor, (4 * n).CompareTo(twice * twice * d), exact);
    };

    private static BigInteger IntegerSquareRoot(BigInteger value)
    {
        if (value.IsZero)
        {
            return 0;
        }

        BigInteger x = BigInteger.One << (int)((value.GetBitLength() + 1) / 2);
        while (true)
        {
            BigInteger y = (x + (value / x)) / 2;
            if (y >= x)
            {
                return x;
            }

            x = y;
        }
    }

    private static BigInteger RoundedFloor(Scaler scaler, int q, bool negative, int mode, out bool inexact)
    {
        (BigInteger floor, int half, bool exact) = scaler(q);
        inexact = !exact;
        bool up = mode switch
        {
            0 => half > 0 || (half == 0 && !floor.IsEven),
            1 => !exact && negative,
            2 => !exact && !negative,
            _ => false,
        };
        return up ? floor + 1 : floor;
    }

    private (ulong Bits, uint Flags) Round(bool negative, Scaler scaler, Control control, uint flags)
    {
        ulong sign = negative ? SignBit : 0;

        // The binade: 2^e <= |r| < 2^(e+1).
        int e = 0;
        while (scaler(e).Floor.IsZero)
        {
            e--;
        }

        while (scaler(e).Floor >= 2)
        {
            e++;
        }

        // Tininess after rounding: |r| rounded to the precision with an unbounded exponent is below 2^emin.
        BigInteger unbounded = RoundedFloor(scaler, e - _fractionBits, negative, control.Mode, out _);
        int roundedExponent = unbounded >> (_fractionBits + 1) == 1 ? e + 1 : e;
        bool tiny = roundedExponent < MinExponent;

        int q = Math.Max(e, MinExponent) - _fractionBits;
        BigInteger n = RoundedFloor(scaler, q, negative, control.Mode, out bool inexact);
        if (n >> (_fractionBits + 1) == 1)
        {
            n >>= 1;
            q++;
        }

        if (n >> _fractionBits == 1 && q + _fractionBits > MaxExponent)
        {
            bool toInfinity = control.Mode == 0 || (control.Mode == 1 && negative) || (control.Mode == 2 && !negative);
            ulong magnitude = toInfinity ? ExponentField : ExponentField - 1;
            return (sign | magnitude, flags | Oe | Pe);
        }

        ulong bits = sign | (ulong)(n & ((BigInteger.One << _fractionBits) - 1));
        if (n >> _fractionBits == 1)
        {
            bits |= (ulong)(q + _fractionBits + Bias) << _fractionBits;
        }

        if (tiny)
        {
            if (!control.UnderflowMasked)
            {
                return (bits, flags | Ue | (inexact ? Pe : 0));
            }

            if (control.Ftz)
            {
                return (sign, flags | Ue | Pe);
            }

            return (bits, flags | (inexact ? Ue | Pe : 0));
        }

        return (bits, flags | (inexact ? Pe : 0));
    }
}
