using System.Numerics;

namespace Virt.Cpu.X87;

internal static partial class X87Math
{
    /// <summary>FADD: a + b, rounded to the precision control (Intel SDM Vol. 2A, FADD/FADDP/FIADD).</summary>
    public static Float80 Add(in Float80 a, in Float80 b, ref X87Context ctx) => AddCore(a, b, negateB: false, ref ctx);

    /// <summary>FSUB: a - b (FSUBR is <c>Subtract(b, a)</c>).</summary>
    public static Float80 Subtract(in Float80 a, in Float80 b, ref X87Context ctx) => AddCore(a, b, negateB: true, ref ctx);

    private static Float80 AddCore(in Float80 a, in Float80 b, bool negateB, ref X87Context ctx)
    {
        ctx.RoundedUp = false;
        Float80Class ca = a.Class;
        Float80Class cb = b.Class;
        if (ScreenOperands(a, ca, b, cb, ref ctx, out Float80 special))
        {
            return special;
        }

        bool signA = a.IsNegative;
        bool signB = b.IsNegative ^ negateB;
        if (ca == Float80Class.Infinity)
        {
            // Infinities of unlike signs: #IA (SDM Vol. 2A, FADD table).
            return cb == Float80Class.Infinity && signA != signB ? InvalidResult(ref ctx) : a;
        }

        if (cb == Float80Class.Infinity)
        {
            return b.WithSign(signB);
        }

        int p = ctx.PrecisionBits;
        if (ca == Float80Class.Zero)
        {
            if (cb == Float80Class.Zero)
            {
                return signA == signB ? a : CancellationZero(ctx);
            }

            return RoundOperand(b, signB, p, ref ctx);
        }

        if (cb == Float80Class.Zero)
        {
            return RoundOperand(a, signA, p, ref ctx);
        }

        ulong sa = Normalize(a, out int ea);
        ulong sb = Normalize(b, out int eb);
        if (eb > ea || (eb == ea && sb > sa))
        {
            (sa, sb) = (sb, sa);
            (ea, eb) = (eb, ea);
            (signA, signB) = (signB, signA);
        }

        // Integer bit at 126, leaving bit 127 for the carry and 63 guard bits below the significand.
        UInt128 m1 = (UInt128)sa << 63;
        UInt128 m2 = ShiftRightSticky((UInt128)sb << 63, ea - eb);
        UInt128 m = signA == signB ? m1 + m2 : m1 - m2;
        if (m == 0)
        {
            return CancellationZero(ctx);
        }

        int lz = (int)UInt128.LeadingZeroCount(m);
        return RoundToExtended(signA, ea + 1 - lz, m << lz, p, ref ctx);
    }

    /// <summary>A finite non-zero operand rounded to the precision control, as FADD x, 0 delivers it.</summary>
    private static Float80 RoundOperand(in Float80 x, bool negative, int precisionBits, ref X87Context ctx)
    {
        ulong s = Normalize(x, out int e);
        return RoundToExtended(negative, e, (UInt128)s << 64, precisionBits, ref ctx);
    }

    /// <summary>FMUL: a * b, rounded to the precision control.</summary>
    public static Float80 Multiply(in Float80 a, in Float80 b, ref X87Context ctx)
    {
        ctx.RoundedUp = false;
        Float80Class ca = a.Class;
        Float80Class cb = b.Class;
        if (ScreenOperands(a, ca, b, cb, ref ctx, out Float80 special))
        {
            return special;
        }

        bool negative = a.IsNegative ^ b.IsNegative;
        if (ca == Float80Class.Infinity || cb == Float80Class.Infinity)
        {
            // 0 * infinity: #IA.
            return ca == Float80Class.Zero || cb == Float80Class.Zero ? InvalidResult(ref ctx) : Float80.PositiveInfinity.WithSign(negative);
        }

        if (ca == Float80Class.Zero || cb == Float80Class.Zero)
        {
            return Float80.PositiveZero.WithSign(negative);
        }

        ulong sa = Normalize(a, out int ea);
        ulong sb = Normalize(b, out int eb);
        UInt128 m = Math.BigMul(sa, sb);
        int e = ea + eb + 1;
        if ((m >> 127) == 0)
        {
            m <<= 1;
            e--;
        }

        return RoundToExtended(negative, e, m, ctx.PrecisionBits, ref ctx);
    }

    /// <summary>FDIV: a / b, rounded to the precision control (FDIVR is <c>Divide(b, a)</c>).</summary>
    public static Float80 Divide(in Float80 a, in Float80 b, ref X87Context ctx)
    {
        ctx.RoundedUp = false;
        Float80Class ca = a.Class;
        Float80Class cb = b.Class;
        if (ScreenOperands(a, ca, b, cb, ref ctx, out Float80 special))
        {
            return special;
        }

        bool negative = a.IsNegative ^ b.IsNegative;
        if (ca == Float80Class.Infinity)
        {
            return cb == Float80Class.Infinity ? InvalidResult(ref ctx) : Float80.PositiveInfinity.WithSign(negative);
        }

        if (cb == Float80Class.Infinity)
        {
            return Float80.PositiveZero.WithSign(negative);
        }

        if (cb == Float80Class.Zero)
        {
            if (ca == Float80Class.Zero)
            {
                return InvalidResult(ref ctx);
            }

            // Finite / 0: #Z, masked response a signed infinity.
            ctx.Raise(X87Exceptions.ZeroDivide);
            return Float80.PositiveInfinity.WithSign(negative);
        }

        if (ca == Float80Class.Zero)
        {
            return Float80.PositiveZero.WithSign(negative);
        }

        ulong sa = Normalize(a, out int ea);
        ulong sb = Normalize(b, out int eb);
        UInt128 m = DivideSignificands(sa, sb, out int adjust);
        return RoundToExtended(negative, ea - eb + adjust, m, ctx.PrecisionBits, ref ctx);
    }

    /// <summary>
    /// The quotient of two normalized significands as a normalized 128-bit value with a sticky bit 0,
    /// and the exponent of its bit 127 relative to ea - eb (0 when sa &gt;= sb, else -1).
    /// </summary>
    private static UInt128 DivideSignificands(ulong sa, ulong sb, out int adjust)
    {
        bool integerOne = sa >= sb;
        ulong a = integerOne ? sa - sb : sa;
        UInt128 high = ((UInt128)a << 64) / sb;
        ulong remainder = (ulong)(((UInt128)a << 64) - (high * sb));
        UInt128 low = ((UInt128)remainder << 64) / sb;
        ulong rest = (ulong)(((UInt128)remainder << 64) - (low * sb));
        UInt128 q = (high << 64) | low;
        bool sticky = rest != 0;
        if (integerOne)
        {
            sticky |= (q & 1) != 0;
            q = (UInt128.One << 127) | (q >> 1);
            adjust = 0;
        }
        else
        {
            // a >= 2^63 > sb / 2, so the quotient's bit 127 is already set.
            adjust = -1;
        }

        return sticky ? q | 1 : q;
    }

    /// <summary>FSQRT: the square root, rounded to the precision control.</summary>
    public static Float80 SquareRoot(in Float80 x, ref X87Context ctx)
    {
        ctx.RoundedUp = false;
        Float80Class c = x.Class;
        if (ScreenOperands(x, c, x, c, ref ctx, out Float80 special))
        {
            return special;
        }

        if (c == Float80Class.Zero)
        {
            return x;
        }

        if (x.IsNegative)
        {
            return InvalidResult(ref ctx);
        }

        if (c == Float80Class.Infinity)
        {
            return x;
        }

        ulong s = Normalize(x, out int e);

        // value = s * 2^(e - 63); make the exponent of the integer's LSB even: radicand = s * 2^k * 2^(E).
        int lsbExponent = e - 63;
        UInt128 radicand = s;
        if ((lsbExponent & 1) != 0)
        {
            radicand <<= 1;
            lsbExponent--;
        }

        // Digit-by-digit square root over radicand * 2^(2 * FractionPairs): 33 + FractionPairs root bits.
        const int FractionPairs = 36;
        UInt128 root = 0;
        UInt128 rem = 0;
        for (int i = 32; i >= -FractionPairs; i--)
        {
            UInt128 pair = i >= 0 ? (radicand >> (2 * i)) & 3 : UInt128.Zero;
            rem = (rem << 2) | pair;
            UInt128 trial = (root << 2) | 1;
            if (rem >= trial)
            {
                rem -= trial;
                root = (root << 1) | 1;
            }
            else
            {
                root <<= 1;
            }
        }

        // sqrt = root * 2^(lsbExponent / 2 - FractionPairs), exact when rem == 0.
        int lz = (int)UInt128.LeadingZeroCount(root);
        UInt128 m = root << lz;
        if (rem != 0)
        {
            m |= 1;
        }

        int exponent = (lsbExponent / 2) - FractionPairs + (127 - lz);
        return RoundToExtended(negative: false, exponent, m, ctx.PrecisionBits, ref ctx);
    }

    /// <summary>FCHS: flips the sign bit; never raises an exception (Intel SDM Vol. 2A, FCHS).</summary>
    public static Float80 ChangeSign(in Float80 x) => x.Negate();

    /// <summary>FABS: clears the sign bit; never raises an exception.</summary>
    public static Float80 Absolute(in Float80 x) => x.Abs();
}
