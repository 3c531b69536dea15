using System.Numerics;

namespace Virt.Cpu.X87;

/// <summary>
/// The transcendental instructions. They evaluate in BigInteger fixed point with at least 256 bits
/// (more for tiny arguments, so the relative precision never drops) and round once to 64 bits by the
/// rounding control; argument reduction for the trigonometric functions uses pi to 640 bits, exact
/// for every |x| &lt; 2^63. They allocate, unlike the basic arithmetic: these are slow instructions on
/// hardware too. Results are correctly rounded unless the exact value lies within about 2^-180 of a
/// rounding boundary (see docs/x87.md for the measured accuracy).
/// </summary>
internal static partial class X87Math
{
    private const int WorkBits = 256;
    private const int ConstantBits = 640;

    /// <summary>pi * 2^640, computed once by Machin's formula.</summary>
    private static readonly BigInteger s_pi = ComputePi(ConstantBits);

    /// <summary>ln 2 * 2^640, as 2 atanh(1/3).</summary>
    private static readonly BigInteger s_ln2 = 2 * AtanhOfReciprocal(3, ConstantBits + 16) >> 16;

    private static BigInteger ComputePi(int bits)
    {
        // pi = 16 atan(1/5) - 4 atan(1/239), with 16 guard bits.
        int scale = bits + 16;
        BigInteger pi = (16 * AtanOfReciprocal(5, scale)) - (4 * AtanOfReciprocal(239, scale));
        return pi >> 16;
    }

    private static BigInteger AtanOfReciprocal(int n, int scale)
    {
        BigInteger power = (BigInteger.One << scale) / n;
        BigInteger sum = power;
        BigInteger n2 = n * n;
        for (int k = 1; !power.IsZero; k++)
        {
            power /= n2;
            BigInteger term = power / ((2 * k) + 1);
            sum += (k & 1) != 0 ? -term : term;
        }

        return sum;
    }

    private static BigInteger AtanhOfReciprocal(int n, int scale)
    {
        BigInteger power = (BigInteger.One << scale) / n;
        BigInteger sum = power;
        BigInteger n2 = n * n;
        for (int k = 1; !power.IsZero; k++)
        {
            power /= n2;
            sum += power / ((2 * k) + 1);
        }

        return sum;
    }

    private static BigInteger PiAt(int scale) => scale <= ConstantBits ? s_pi >> (ConstantBits - scale) : s_pi << (scale - ConstantBits);

    private static BigInteger Ln2At(int scale) => scale <= ConstantBits ? s_ln2 >> (ConstantBits - scale) : s_ln2 << (scale - ConstantBits);

    /// <summary>x * 2^scale, truncated, for a finite non-zero x (sign ignored).</summary>
    private static BigInteger ToFixed(in Float80 x, int scale)
    {
        ulong s = Normalize(x, out int e);
        int shift = scale + e - 63;
        return shift >= 0 ? (BigInteger)s << shift : (BigInteger)s >> -shift;
    }

    /// <summary>Rounds an approximation v * 2^-scale (v &gt; 0) of an irrational value to 64 bits; always inexact.</summary>
    private static Float80 FromFixed(bool negative, BigInteger v, int scale, ref X87Context ctx)
    {
        int length = (int)v.GetBitLength();
        UInt128 m = length > 128 ? (UInt128)(v >> (length - 128)) : (UInt128)v << (128 - length);
        return RoundToExtended(negative, length - 1 - scale, m | 1, 64, ref ctx);
    }

    /// <summary>Screens a one-operand transcendental: NaN, unsupported and denormal handling. True when done.</summary>
    private static bool ScreenUnary(in Float80 x, Float80Class c, ref X87Context ctx, out Float80 result)
    {
        ctx.RoundedUp = false;
        return ScreenOperands(x, c, x, c, ref ctx, out result);
    }

    /// <summary>FSIN. |x| &gt;= 2^63 sets <paramref name="outOfRange"/> (C2) and returns x unchanged.</summary>
    public static Float80 Sine(in Float80 x, ref X87Context ctx, out bool outOfRange)
    {
        Trig(x, wantSine: true, wantCosine: false, ref ctx, out outOfRange, out Float80 sine, out _);
        return sine;
    }

    /// <summary>FCOS, as <see cref="Sine"/>.</summary>
    public static Float80 Cosine(in Float80 x, ref X87Context ctx, out bool outOfRange)
    {
        Trig(x, wantSine: false, wantCosine: true, ref ctx, out outOfRange, out _, out Float80 cosine);
        return cosine;
    }

    /// <summary>FSINCOS: the sine replaces ST(0), then the cosine is pushed. C1 reflects the cosine's rounding.</summary>
    public static (Float80 Sine, Float80 Cosine) SineCosine(in Float80 x, ref X87Context ctx, out bool outOfRange)
    {
        Trig(x, wantSine: true, wantCosine: true, ref ctx, out outOfRange, out Float80 sine, out Float80 cosine);
        return (sine, cosine);
    }

    /// <summary>FPTAN: the tangent replaces ST(0); the core then pushes 1.0 (unless out of range).</summary>
    public static Float80 Tangent(in Float80 x, ref X87Context ctx, out bool outOfRange)
    {
        outOfRange = false;
        Float80Class c = x.Class;
        if (ScreenUnary(x, c, ref ctx, out Float80 special))
        {
            return special;
        }

        if (c == Float80Class.Infinity)
        {
            return InvalidResult(ref ctx);
        }

        if (c == Float80Class.Zero)
        {
            return x;
        }

        ulong sx = Normalize(x, out int ex);
        if (ex < TinyExponent)
        {
            // tan x = x + x^3/3 + ...: just above x by far less than half an ulp.
            return RoundToExtended(x.IsNegative, ex, ((UInt128)sx << 64) | 1, 64, ref ctx);
        }

        if (!ReduceTrigArgument(x, out BigInteger r, out int quadrant, out int scale))
        {
            outOfRange = true;
            return x;
        }

        (BigInteger sin, BigInteger cos) = SinCosSeries(r, scale);
        // tan(r + q*pi/2) = tan r for even q, -1/tan r = -cos r / sin r for odd q.
        bool odd = (quadrant & 1) != 0;
        BigInteger num = odd ? cos : sin;
        BigInteger den = odd ? sin : cos;
        BigInteger t = (BigInteger.Abs(num) << scale) / BigInteger.Abs(den);
        bool negative = (num.Sign * den.Sign < 0) ^ odd ^ x.IsNegative;
        return FromFixed(negative, t, scale, ref ctx);
    }

    private static void Trig(in Float80 x, bool wantSine, bool wantCosine, ref X87Context ctx, out bool outOfRange, out Float80 sine, out Float80 cosine)
    {
        outOfRange = false;
        Float80Class c = x.Class;
        if (ScreenUnary(x, c, ref ctx, out Float80 special))
        {
            sine = cosine = special;
            return;
        }

        if (c == Float80Class.Infinity)
        {
            sine = cosine = InvalidResult(ref ctx);
            return;
        }

        if (c == Float80Class.Zero)
        {
            sine = x;
            cosine = Float80.One;
            return;
        }

        ulong sx = Normalize(x, out int ex);
        if (ex < TinyExponent)
        {
            // The series would collapse to x and 1 at the working precision and lose the direction of the
            // error, which directed rounding needs: sin x = x - x^3/6 is just below x, cos x = 1 - x^2/2 just below 1.
            sine = cosine = default;
            if (wantSine)
            {
                UInt128 below = JustBelow(sx, ref ex);
                sine = RoundToExtended(x.IsNegative, ex, below, 64, ref ctx);
            }

            if (wantCosine)
            {
                cosine = RoundToExtended(false, -1, UInt128.MaxValue, 64, ref ctx);
            }

            return;
        }

        if (!ReduceTrigArgument(x, out BigInteger r, out int quadrant, out int scale))
        {
            outOfRange = true;
            sine = cosine = x;
            return;
        }

        (BigInteger s, BigInteger co) = SinCosSeries(r, scale);
        BigInteger sinValue = (quadrant & 3) switch { 0 => s, 1 => co, 2 => -s, _ => -co };
        BigInteger cosValue = (quadrant & 3) switch { 0 => co, 1 => -s, 2 => -co, _ => s };
        sine = cosine = default;
        if (wantSine)
        {
            // sin(-x) = -sin(x).
            sine = FromFixed((sinValue.Sign < 0) ^ x.IsNegative, BigInteger.Abs(sinValue), scale, ref ctx);
        }

        if (wantCosine)
        {
            cosine = FromFixed(cosValue.Sign < 0, BigInteger.Abs(cosValue), scale, ref ctx);
        }
    }

    /// <summary>Below this exponent the trigonometric results are x or 1 nudged by less than 2^-190 relative.</summary>
    private const int TinyExponent = -100;

    /// <summary>A normalized 128-bit significand for a value a hair below sig (exponent adjusted if sig is a power of two).</summary>
    private static UInt128 JustBelow(ulong sig, ref int exponent)
    {
        UInt128 m = ((UInt128)sig << 64) - 1;
        if ((m >> 127) == 0)
        {
            m = (m << 1) | 1;
            exponent--;
        }

        return m;
    }

    /// <summary>
    /// |x| = r + quadrant * pi/2 with |r| &lt;= pi/4, r at the returned fixed-point scale. False when
    /// |x| &gt;= 2^63, the limit of the x87 trigonometric instructions (Intel SDM Vol. 2A, FSIN: C2 = 1).
    /// </summary>
    private static bool ReduceTrigArgument(in Float80 x, out BigInteger r, out int quadrant, out int scale)
    {
        Normalize(x, out int e);
        if (e >= 63)
        {
            r = 0;
            quadrant = 0;
            scale = 0;
            return false;
        }

        // Tiny arguments get a finer scale so the result keeps WorkBits of relative precision.
        scale = WorkBits + Math.Max(0, -e);
        BigInteger value = ToFixed(x, scale);
        quadrant = 0;
        r = value;
        if (e >= -1)
        {
            // k = round(|x| / (pi/2)), with pi/2 carried 160 bits below the working scale so that k * pi/2
            // (k < 2^63) is off by less than 2^-(scale + 97): negligible even for the r ~ 2^-62 of the worst
            // 64-bit arguments near a multiple of pi/2.
            const int Extra = 160;
            BigInteger halfPi = PiAt(scale + Extra - 1);
            BigInteger k = ((value << Extra) + (halfPi >> 1)) / halfPi;
            quadrant = (int)(k & 3);
            r = ((value << Extra) - (k * halfPi)) >> Extra;
        }

        return true;
    }

    /// <summary>sin r and cos r by their Taylor series at the given scale (|r| &lt;= pi/4).</summary>
    private static (BigInteger Sin, BigInteger Cos) SinCosSeries(BigInteger r, int scale)
    {
        const int Guard = 16;
        int s = scale + Guard;
        BigInteger rr = r << Guard;
        BigInteger r2 = (rr * rr) >> s;
        BigInteger term = rr;
        BigInteger sin = rr;
        for (int i = 1; !term.IsZero; i++)
        {
            term = -((term * r2) >> s) / ((2 * i) * ((2 * i) + 1));
            sin += term;
        }

        term = BigInteger.One << s;
        BigInteger cos = term;
        for (int i = 1; !term.IsZero; i++)
        {
            term = -((term * r2) >> s) / (((2 * i) - 1) * (2 * i));
            cos += term;
        }

        return (sin >> Guard, cos >> Guard);
    }

    /// <summary>
    /// FPATAN: arctan(ST(1) / ST(0)) with the quadrant taken from both signs, as the SDM's FPATAN table
    /// specifies for zeros and infinities (no #Z, no #IA for them). <paramref name="y"/> is ST(1),
    /// <paramref name="x"/> is ST(0).
    /// </summary>
    public static Float80 ArcTangent(in Float80 y, in Float80 x, ref X87Context ctx)
    {
        ctx.RoundedUp = false;
        Float80Class cy = y.Class;
        Float80Class cx = x.Class;
        if (ScreenOperands(y, cy, x, cx, ref ctx, out Float80 special))
        {
            return special;
        }

        bool negative = y.IsNegative;
        int scale = WorkBits;
        if (cy == Float80Class.Zero)
        {
            // atan2(+-0, x): +-0 for x >= +0, +-pi for x <= -0.
            return x.IsNegative ? FromFixed(negative, PiAt(scale), scale, ref ctx) : y;
        }

        if (cy == Float80Class.Infinity)
        {
            if (cx == Float80Class.Infinity)
            {
                // +-pi/4 or +-3pi/4.
                BigInteger quarter = PiAt(scale) >> 2;
                return FromFixed(negative, x.IsNegative ? 3 * quarter : quarter, scale, ref ctx);
            }

            return FromFixed(negative, PiAt(scale) >> 1, scale, ref ctx);
        }

        if (cx == Float80Class.Infinity)
        {
            return x.IsNegative ? FromFixed(negative, PiAt(scale), scale, ref ctx) : Float80.PositiveZero.WithSign(negative);
        }

        if (cx == Float80Class.Zero)
        {
            return FromFixed(negative, PiAt(scale) >> 1, scale, ref ctx);
        }

        ulong sy = Normalize(y, out int ey);
        ulong sx = Normalize(x, out int ex);
        bool swap = ey > ex || (ey == ex && sy > sx);
        (ulong sn, int en, ulong sd, int ed) = swap ? (sx, ex, sy, ey) : (sy, ey, sx, ex);

        if (!swap && !x.IsNegative && ed - en > -TinyExponent)
        {
            // atan t = t - t^3/3 + ... with t < 2^-99: t to 320 bits, then a hair below it when t is exact
            // (so directed rounding goes the right way) or the sticky bit when it is not.
            const int Bits = 320;
            BigInteger q = BigInteger.DivRem((BigInteger)sn << Bits, sd, out BigInteger rest);
            BigInteger v = rest.IsZero ? (q << 1) - 1 : (q << 1) + 1;
            return FromFixed(negative, v, Bits + 1 + ed - en, ref ctx);
        }

        // t = |n| / |d| <= 1, with a scale fine enough for tiny ratios.
        scale = WorkBits + Math.Max(0, ed - en);
        BigInteger t = ((BigInteger)sn << (scale + en - ed)) / sd;
        BigInteger angle = AtanSeries(t, scale);
        if (swap)
        {
            angle = (PiAt(scale) >> 1) - angle;
        }

        if (x.IsNegative)
        {
            angle = PiAt(scale) - angle;
        }

        return FromFixed(negative, angle, scale, ref ctx);
    }

    /// <summary>atan t for 0 &lt;= t &lt;= 1 at the given scale: two angle halvings, then the series.</summary>
    private static BigInteger AtanSeries(BigInteger t, int scale)
    {
        const int Guard = 16;
        int s = scale + Guard;
        BigInteger one = BigInteger.One << s;
        BigInteger u = t << Guard;
        int halvings = 0;
        if (t.GetBitLength() > scale - 64)
        {
            // atan t = 2 atan(t / (1 + sqrt(1 + t^2))).
            for (; halvings < 2; halvings++)
            {
                BigInteger root = IntegerSquareRoot((one << s) + (u * u));
                u = (u << s) / (one + root);
            }
        }

        BigInteger u2 = (u * u) >> s;
        BigInteger power = u;
        BigInteger sum = u;
        for (int k = 1; !power.IsZero; k++)
        {
            power = (power * u2) >> s;
            BigInteger term = power / ((2 * k) + 1);
            sum += (k & 1) != 0 ? -term : term;
        }

        return (sum << halvings) >> Guard;
    }

    private static BigInteger IntegerSquareRoot(BigInteger n)
    {
        if (n.IsZero)
        {
            return n;
        }

        BigInteger x = BigInteger.One << (int)((n.GetBitLength() / 2) + 1);
        while (true)
        {
            BigInteger next = (x + (n / x)) >> 1;
            if (next >= x)
            {
                return x;
            }

            x = next;
        }
    }

    /// <summary>
    /// F2XM1: 2^x - 1. The SDM defines it for -1 &lt;= x &lt;= +1; we evaluate it for |x| &lt; 64 and return
    /// x unchanged beyond (undefined on hardware). -inf gives -1, +inf gives +inf.
    /// </summary>
    public static Float80 TwoToXMinusOne(in Float80 x, ref X87Context ctx)
    {
        Float80Class c = x.Class;
        if (ScreenUnary(x, c, ref ctx, out Float80 special))
        {
            return special;
        }

        if (c == Float80Class.Zero)
        {
            return x;
        }

        if (c == Float80Class.Infinity)
        {
            return x.IsNegative ? Float80.One.Negate() : x;
        }

        ulong sx = Normalize(x, out int e);
        if (e >= 6)
        {
            return x;
        }

        if (e >= 0 && (sx << e << 1) == 0)
        {
            // Integral x = n: 2^n - 1 is exact (1 for n = 1, -1/2 for n = -1).
            int n = (int)(sx >> (63 - e));
            return x.IsNegative
                ? new Float80(true, Float80.Bias - 1, ulong.MaxValue << (64 - n))
                : FromInt64((1L << n) - 1);
        }

        const int Guard = 16;
        int scale = WorkBits + Math.Max(0, -e);
        int s = scale + Guard;
        BigInteger y = (ToFixed(x, s) * Ln2At(s)) >> s;
        if (x.IsNegative)
        {
            y = -y;
        }

        BigInteger term = y;
        BigInteger sum = y;
        for (int k = 2; !term.IsZero; k++)
        {
            term = ((term * y) >> s) / k;
            sum += term;
        }

        // 2^x - 1 is irrational for every non-integral rational x: the result is always inexact.
        return FromFixed(sum.Sign < 0, BigInteger.Abs(sum), s, ref ctx);
    }

    /// <summary>
    /// FYL2X: ST(1) * log2(ST(0)), with the special cases of the SDM's FYL2X table. <paramref name="y"/>
    /// is ST(1), <paramref name="x"/> is ST(0).
    /// </summary>
    public static Float80 YLog2X(in Float80 y, in Float80 x, ref X87Context ctx)
    {
        ctx.RoundedUp = false;
        Float80Class cy = y.Class;
        Float80Class cx = x.Class;
        if (ScreenOperands(y, cy, x, cx, ref ctx, out Float80 special))
        {
            return special;
        }

        if (x.IsNegative && cx != Float80Class.Zero)
        {
            return InvalidResult(ref ctx);
        }

        if (cx == Float80Class.Zero)
        {
            if (cy == Float80Class.Zero)
            {
                return InvalidResult(ref ctx);
            }

            // log2(0) = -inf: finite y raises #Z.
            if (cy != Float80Class.Infinity)
            {
                ctx.Raise(X87Exceptions.ZeroDivide);
            }

            return Float80.PositiveInfinity.WithSign(!y.IsNegative);
        }

        if (cx == Float80Class.Infinity)
        {
            return cy == Float80Class.Zero ? InvalidResult(ref ctx) : Float80.PositiveInfinity.WithSign(y.IsNegative);
        }

        // x finite positive: the sign of log2 x, or zero when x = 1.
        ulong sx = Normalize(x, out int ex);
        bool isOne = ex == 0 && sx == Float80.IntegerBit;
        bool logNegative = ex < 0;
        if (cy == Float80Class.Infinity)
        {
            return isOne ? InvalidResult(ref ctx) : Float80.PositiveInfinity.WithSign(y.IsNegative ^ logNegative);
        }

        if (cy == Float80Class.Zero || isOne)
        {
            return Float80.PositiveZero.WithSign(y.IsNegative ^ logNegative);
        }

        if (sx == Float80.IntegerBit)
        {
            // A power of two: log2 x is the integer ex, and the product is exact up to one rounding.
            return MultiplyExtended(y, FromInt64(ex), ref ctx);
        }

        const int Scale = WorkBits + 64;
        BigInteger log = Log2Fixed(sx, ex - 63, Scale);
        return MultiplyByLog(y, log, Scale, ref ctx);
    }

    /// <summary>
    /// FYL2XP1: ST(1) * log2(ST(0) + 1). The SDM defines it for |x| &lt; 1 - sqrt(2)/2; we evaluate any
    /// x &gt; -1 and raise #IA for x &lt;= -1. <paramref name="y"/> is ST(1), <paramref name="x"/> is ST(0).
    /// </summary>
    public static Float80 YLog2XPlusOne(in Float80 y, in Float80 x, ref X87Context ctx)
    {
        ctx.RoundedUp = false;
        Float80Class cy = y.Class;
        Float80Class cx = x.Class;
        if (ScreenOperands(y, cy, x, cx, ref ctx, out Float80 special))
        {
            return special;
        }

        if (cx == Float80Class.Zero)
        {
            return cy == Float80Class.Infinity ? InvalidResult(ref ctx) : Float80.PositiveZero.WithSign(x.IsNegative ^ y.IsNegative);
        }

        ulong sx = Normalize(x, out int ex);
        if (x.IsNegative && (cx == Float80Class.Infinity || ex >= 0))
        {
            // x <= -1: log2 of a non-positive number.
            return InvalidResult(ref ctx);
        }

        if (cx == Float80Class.Infinity)
        {
            return cy == Float80Class.Zero ? InvalidResult(ref ctx) : Float80.PositiveInfinity.WithSign(y.IsNegative);
        }

        if (cy == Float80Class.Infinity)
        {
            return Float80.PositiveInfinity.WithSign(y.IsNegative ^ x.IsNegative);
        }

        if (cy == Float80Class.Zero)
        {
            return Float80.PositiveZero.WithSign(y.IsNegative ^ x.IsNegative);
        }

        int scale = WorkBits + 64 + Math.Max(0, -ex);
        BigInteger log;
        if (ex >= -2)
        {
            // 1 + x exactly as a dyadic number, then the general logarithm.
            int lsb = ex - 63;
            BigInteger sum = x.IsNegative ? (BigInteger.One << -lsb) - sx : (BigInteger.One << -lsb) + sx;
            if (lsb > 0)
            {
                sum = ((BigInteger)sx << lsb) + 1;
                lsb = 0;
            }

            if (sum.IsPowerOfTwo)
            {
                return MultiplyExtended(y, FromInt64((long)sum.GetBitLength() - 1 + lsb), ref ctx);
            }

            log = Log2Fixed(sum, lsb, scale);
        }
        else
        {
            // ln(1 + x) = 2 atanh(x / (2 + x)), precise for small x.
            const int Guard = 16;
            int s = scale + Guard;
            BigInteger xf = ToFixed(x, s);
            if (x.IsNegative)
            {
                xf = -xf;
            }

            BigInteger u = (xf << s) / ((BigInteger.One << (s + 1)) + xf);
            BigInteger ln = 2 * AtanhSeries(u, s);
            log = ((ln << s) / Ln2At(s)) >> Guard;
        }

        return MultiplyByLog(y, log, scale, ref ctx);
    }

    /// <summary>y * (log * 2^-scale), rounded.</summary>
    private static Float80 MultiplyByLog(in Float80 y, BigInteger log, int scale, ref X87Context ctx)
    {
        ulong sy = Normalize(y, out int ey);
        BigInteger product = BigInteger.Abs(log) * sy;
        return FromFixed(y.IsNegative ^ (log.Sign < 0), product, scale - (ey - 63), ref ctx);
    }

    /// <summary>a * b rounded to 64 bits whatever the precision control (transcendentals ignore PC).</summary>
    private static Float80 MultiplyExtended(in Float80 a, in Float80 b, ref X87Context ctx)
    {
        X87PrecisionControl saved = ctx.Precision;
        ctx.Precision = X87PrecisionControl.Extended;
        Float80 result = Multiply(a, b, ref ctx);
        ctx.Precision = saved;
        return result;
    }

    /// <summary>atanh u = u + u^3/3 + u^5/5 + ... at scale s, |u| small.</summary>
    private static BigInteger AtanhSeries(BigInteger u, int s)
    {
        // Odd function; working on |u| keeps the truncating shifts converging to 0 rather than -1.
        bool negative = u.Sign < 0;
        u = BigInteger.Abs(u);
        BigInteger u2 = (u * u) >> s;
        BigInteger power = u;
        BigInteger sum = u;
        for (int k = 1; !power.IsZero; k++)
        {
            power = (power * u2) >> s;
            sum += power / ((2 * k) + 1);
        }

        return negative ? -sum : sum;
    }

    /// <summary>log2(sig * 2^exponent) at the given scale, sig &gt; 0.</summary>
    private static BigInteger Log2Fixed(BigInteger sig, int exponent, int scale)
    {
        const int Guard = 16;
        int s = scale + Guard;
        int n = (int)sig.GetBitLength();
        int e = exponent + n - 1;

        // m = sig / 2^(n-1) in [1, 2) at scale s; fold into [sqrt(1/2), sqrt(2)).
        BigInteger m = n - 1 <= s ? sig << (s - (n - 1)) : sig >> ((n - 1) - s);
        BigInteger one = BigInteger.One << s;
        BigInteger sqrt2 = IntegerSquareRoot(BigInteger.One << ((2 * s) + 1));
        if (m > sqrt2)
        {
            // m / 2 at scale s + 1 is m itself: switch to scale s by doubling "one" instead of halving m.
            e++;
            BigInteger u2 = ((m - (one << 1)) << s) / (m + (one << 1));
            BigInteger lnFolded = 2 * AtanhSeries(u2, s);
            return (((BigInteger)e << s) + ((lnFolded << s) / Ln2At(s))) >> Guard;
        }

        BigInteger u = ((m - one) << s) / (m + one);
        BigInteger ln = 2 * AtanhSeries(u, s);
        return (((BigInteger)e << s) + ((ln << s) / Ln2At(s))) >> Guard;
    }
}
