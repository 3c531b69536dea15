using System.Numerics;

namespace Virt.Cpu.X87;

internal static partial class X87Math
{
    // The constants to 128 bits (exponent of the leading bit, then the top 128 bits of the significand);
    // the bits beyond are non-zero for all but 1 and 0, so they round as inexact. Derived from the
    // mathematical constants, checked by X87ConstantTests against BigInteger series.
    private static readonly (int Exponent, ulong High, ulong Low)[] s_constants =
    [
        (0, 0x8000_0000_0000_0000, 0),
        (0, 0, 0),
        (1, 0xC90F_DAA2_2168_C234, 0xC4C6_628B_80DC_1CD1),
        (1, 0xD49A_784B_CD1B_8AFE, 0x492B_F6FF_4DAF_DB4C),
        (0, 0xB8AA_3B29_5C17_F0BB, 0xBE87_FED0_691D_3E88),
        (-2, 0x9A20_9A84_FBCF_F798, 0x8F89_59AC_0B7C_9178),
        (-1, 0xB172_17F7_D1CF_79AB, 0xC9E3_B398_03F2_F6AF),
    ];

    /// <summary>
    /// FLD1, FLDZ, FLDPI, FLDL2T, FLDL2E, FLDLG2, FLDLN2: the constant rounded to 64 bits by the rounding
    /// control (Intel SDM Vol. 2A, FLD1/FLDL2T/...: the internal constant is rounded per RC, not per PC).
    /// These raise no numeric exception and leave C1 to the stack logic.
    /// </summary>
    public static Float80 LoadConstant(X87Constant constant, X87RoundingControl rounding)
    {
        (int exponent, ulong high, ulong low) = s_constants[(int)constant];
        if (high == 0)
        {
            return Float80.PositiveZero;
        }

        if (low == 0)
        {
            return new Float80(false, exponent + Float80.Bias, high);
        }

        // Bits beyond the 128 stored are non-zero: fold them in as sticky.
        UInt128 m = ((UInt128)high << 64) | low | 1;
        UInt128 rounded = RoundBits(m, 64, negative: false, rounding, out _, out _);
        if (rounded >> 64 != 0)
        {
            return new Float80(false, exponent + 1 + Float80.Bias, Float80.IntegerBit);
        }

        return new Float80(false, exponent + Float80.Bias, (ulong)rounded);
    }

    /// <summary>An exact extended value of a 64-bit integer (FILD).</summary>
    public static Float80 FromInt64(long value)
    {
        if (value == 0)
        {
            return Float80.PositiveZero;
        }

        bool negative = value < 0;
        ulong magnitude = negative ? (ulong)-value : (ulong)value;
        int lz = BitOperations.LeadingZeroCount(magnitude);
        return new Float80(negative, 63 - lz + Float80.Bias, magnitude << lz);
    }

    /// <summary>FRNDINT: rounds to an integral value by the rounding control (64-bit precision, PC ignored).</summary>
    public static Float80 RoundToIntegral(in Float80 x, ref X87Context ctx)
    {
        ctx.RoundedUp = false;
        Float80Class c = x.Class;
        if (ScreenOperands(x, c, x, c, ref ctx, out Float80 special))
        {
            return special;
        }

        if (c is Float80Class.Zero or Float80Class.Infinity)
        {
            return x;
        }

        ulong s = Normalize(x, out int e);
        if (e >= 63)
        {
            return c == Float80Class.Normal ? x : new Float80(x.IsNegative, e + Float80.Bias, s);
        }

        UInt128 n = RoundBits((UInt128)s << 64, 64 + 63 - e, x.IsNegative, ctx.Rounding, out bool inexact, out bool increment);
        SetPrecision(inexact, increment, ref ctx);
        if (n == 0)
        {
            return Float80.PositiveZero.WithSign(x.IsNegative);
        }

        int lz = (int)UInt128.LeadingZeroCount(n);
        return new Float80(x.IsNegative, 127 - lz + Float80.Bias, (ulong)(n << (lz - 64)));
    }

    /// <summary>FSCALE: ST(0) * 2^trunc(ST(1)) (Intel SDM Vol. 2A, FSCALE, Table 3-...: the special cases).</summary>
    public static Float80 Scale(in Float80 st0, in Float80 st1, ref X87Context ctx)
    {
        ctx.RoundedUp = false;
        Float80Class c0 = st0.Class;
        Float80Class c1 = st1.Class;
        if (ScreenOperands(st0, c0, st1, c1, ref ctx, out Float80 special))
        {
            return special;
        }

        if (c1 == Float80Class.Infinity)
        {
            if (st1.IsNegative)
            {
                // x * 2^-inf: zero, except inf * 0 which is invalid.
                return c0 == Float80Class.Infinity ? InvalidResult(ref ctx) : Float80.PositiveZero.WithSign(st0.IsNegative);
            }

            return c0 == Float80Class.Zero ? InvalidResult(ref ctx) : Float80.PositiveInfinity.WithSign(st0.IsNegative);
        }

        if (c0 is Float80Class.Zero or Float80Class.Infinity)
        {
            return st0;
        }

        int scale = 0;
        if (c1 != Float80Class.Zero)
        {
            ulong s1 = Normalize(st1, out int e1);
            if (e1 >= 20)
            {
                // Far beyond the exponent range even after the 24576 wrap: clamp, the outcome is the same.
                scale = 1 << 20;
            }
            else if (e1 >= 0)
            {
                scale = (int)(s1 >> (63 - e1));
            }

            if (st1.IsNegative)
            {
                scale = -scale;
            }
        }

        ulong s = Normalize(st0, out int e);
        return RoundToExtended(st0.IsNegative, e + scale, (UInt128)s << 64, 64, ref ctx);
    }

    /// <summary>
    /// FXTRACT: splits x into its unbiased exponent (as an extended value, left in ST(1)) and its
    /// significand with the exponent of 1.0 (pushed as ST(0)). Zero raises #Z: exponent -inf, significand
    /// the zero (Intel SDM Vol. 2A, FXTRACT).
    /// </summary>
    public static (Float80 Exponent, Float80 Significand) Extract(in Float80 x, ref X87Context ctx)
    {
        ctx.RoundedUp = false;
        Float80Class c = x.Class;
        if (ScreenOperands(x, c, x, c, ref ctx, out Float80 special))
        {
            return (special, special);
        }

        switch (c)
        {
            case Float80Class.Zero:
                ctx.Raise(X87Exceptions.ZeroDivide);
                return (Float80.NegativeInfinity, x);
            case Float80Class.Infinity:
                return (Float80.PositiveInfinity, x);
        }

        ulong s = Normalize(x, out int e);
        return (FromInt64(e), new Float80(x.IsNegative, Float80.Bias, s));
    }

    /// <summary>
    /// FPREM (<paramref name="ieee"/> false: quotient truncated) and FPREM1 (true: quotient rounded to
    /// nearest-even, the IEEE remainder). <paramref name="quotientBits"/> holds Q2..Q0 for C0, C3, C1
    /// when the reduction is complete; when the exponent difference D is 64 or more the reduction is
    /// partial (<paramref name="incomplete"/>, C2 = 1): ST(0) is reduced by a truncated multiple of
    /// ST(1) * 2^(D - N) with N = 32 + (D mod 32), for FPREM1 too, and the core clears C0/C3/C1.
    /// </summary>
    public static Float80 Remainder(in Float80 st0, in Float80 st1, bool ieee, ref X87Context ctx, out int quotientBits, out bool incomplete)
    {
        // The partial-reduction step size N of the SDM pseudo-code (Intel SDM Vol. 2A, FPREM/FPREM1: "an
        // implementation-dependent number between 32 and 63"). Intel hardware uses N = 32 + (D mod 32), as the
        // AMD manuals specify (measured: D = 64, 95, 96, 100 leave exponent differences 32, 29, 64, 64). D - N
        // is then a multiple of 32, so every partial step removes a multiple of 8 * ST(1) and the quotient bits
        // of the final, complete step are the low bits of the whole quotient, as trig reduction loops expect.
        const int PartialReductionBase = 32;
        const int PartialReductionMask = 31;
        ctx.RoundedUp = false;
        quotientBits = 0;
        incomplete = false;
        Float80Class c0 = st0.Class;
        Float80Class c1 = st1.Class;
        if (ScreenOperands(st0, c0, st1, c1, ref ctx, out Float80 special))
        {
            return special;
        }

        if (c0 == Float80Class.Infinity || c1 == Float80Class.Zero)
        {
            return InvalidResult(ref ctx);
        }

        if (c1 == Float80Class.Infinity || c0 == Float80Class.Zero)
        {
            return st0;
        }

        ulong sa = Normalize(st0, out int ea);
        ulong sb = Normalize(st1, out int eb);
        int d = ea - eb;
        bool negative = st0.IsNegative;
        UInt128 r;
        int lsbExponent;
        if (d < 0)
        {
            if (!ieee || d < -1 || sa <= sb)
            {
                // |ST(0)| < |ST(1)| (or exactly half with an even quotient 0): the remainder is ST(0).
                return st0;
            }

            // FPREM1, |ST(0)| in (|ST(1)|/2, |ST(1)|): quotient 1, remainder ST(0) - ST(1) in magnitude 2*sb - sa.
            quotientBits = 1;
            r = ((UInt128)sb << 1) - sa;
            lsbExponent = ea - 63;
            negative = !negative;
        }
        else
        {
            int shift = d;
            if (d >= 64)
            {
                incomplete = true;
                shift = PartialReductionBase + (d & PartialReductionMask);
            }

            UInt128 dividend = (UInt128)sa << shift;
            UInt128 q = dividend / sb;
            r = dividend - (q * sb);
            lsbExponent = ea - shift - 63;
            if (ieee && !incomplete)
            {
                UInt128 twice = r << 1;
                if (twice > sb || (twice == sb && (q & 1) != 0))
                {
                    q++;
                    r = sb - r;
                    negative = !negative;
                }
            }

            quotientBits = incomplete ? 0 : (int)(q & 7);
        }

        if (r == 0)
        {
            return Float80.PositiveZero.WithSign(st0.IsNegative);
        }

        int lz = (int)UInt128.LeadingZeroCount(r);
        return RoundToExtended(negative, lsbExponent + 127 - lz, r << lz, 64, ref ctx);
    }

    /// <summary>
    /// FCOM/FUCOM/FCOMI/FUCOMI/FTST/FICOM: compares <paramref name="a"/> (ST(0)) with <paramref name="b"/>.
    /// An unsupported operand or an SNaN always raises #IA; a QNaN raises #IA only for the ordered forms
    /// (<paramref name="quiet"/> false: FCOM, FCOMI, FTST, FICOM). A denormal raises #D. When an unmasked
    /// #IA/#D occurs <see cref="X87Context.SuppressWrite"/> is set: the core leaves the codes unchanged.
    /// </summary>
    public static X87CompareResult Compare(in Float80 a, in Float80 b, bool quiet, ref X87Context ctx)
    {
        Float80Class ca = a.Class;
        Float80Class cb = b.Class;
        if (ca == Float80Class.Unsupported || cb == Float80Class.Unsupported || ca == Float80Class.SignalingNaN || cb == Float80Class.SignalingNaN)
        {
            ctx.Raise(X87Exceptions.Invalid);
            return X87CompareResult.Unordered;
        }

        if (IsNaNClass(ca) || IsNaNClass(cb))
        {
            if (!quiet)
            {
                ctx.Raise(X87Exceptions.Invalid);
            }

            return X87CompareResult.Unordered;
        }

        if (IsDenormalClass(ca) || IsDenormalClass(cb))
        {
            ctx.Raise(X87Exceptions.Denormal);
        }

        int order = CompareOrdered(a, ca, b, cb);
        return order < 0 ? X87CompareResult.Less : order > 0 ? X87CompareResult.Greater : X87CompareResult.Equal;
    }

    private static int CompareOrdered(in Float80 a, Float80Class ca, in Float80 b, Float80Class cb)
    {
        bool aZero = ca == Float80Class.Zero;
        bool bZero = cb == Float80Class.Zero;
        if (aZero && bZero)
        {
            return 0;
        }

        if (aZero)
        {
            return b.IsNegative ? 1 : -1;
        }

        if (bZero)
        {
            return a.IsNegative ? -1 : 1;
        }

        if (a.IsNegative != b.IsNegative)
        {
            return a.IsNegative ? -1 : 1;
        }

        int magnitude = CompareMagnitude(a, ca, b, cb);
        return a.IsNegative ? -magnitude : magnitude;
    }

    private static int CompareMagnitude(in Float80 a, Float80Class ca, in Float80 b, Float80Class cb)
    {
        if (ca == Float80Class.Infinity || cb == Float80Class.Infinity)
        {
            return ca == cb ? 0 : ca == Float80Class.Infinity ? 1 : -1;
        }

        // Normalizing maps pseudo-denormals onto their equal-valued normals.
        ulong sa = Normalize(a, out int ea);
        ulong sb = Normalize(b, out int eb);
        return ea != eb ? ea.CompareTo(eb) : sa.CompareTo(sb);
    }

    /// <summary>The C3, C2, C0 status word bits for a compare result (C1 is left to the caller: 0 unless stack underflow).</summary>
    public static ushort ConditionCodes(X87CompareResult result) => result switch
    {
        X87CompareResult.Greater => 0,
        X87CompareResult.Less => X87StatusBits.C0,
        X87CompareResult.Equal => X87StatusBits.C3,
        _ => X87StatusBits.C3 | X87StatusBits.C2 | X87StatusBits.C0,
    };

    /// <summary>The ZF, PF, CF bits FCOMI/FUCOMI write to EFLAGS (Intel SDM Vol. 2A, FCOMI table).</summary>
    public static uint ComparisonEflags(X87CompareResult result) => result switch
    {
        X87CompareResult.Greater => 0,
        X87CompareResult.Less => X87StatusBits.CarryFlag,
        X87CompareResult.Equal => X87StatusBits.ZeroFlag,
        _ => X87StatusBits.ZeroFlag | X87StatusBits.ParityFlag | X87StatusBits.CarryFlag,
    };

    /// <summary>
    /// FXAM: C3, C2, C1 (sign) and C0 classifying ST(0) (Intel SDM Vol. 2A, FXAM table): unsupported 000,
    /// NaN 001, normal 010, infinity 011, zero 100, empty 101, denormal 110. Pseudo-denormals report as
    /// denormals. No exception is raised.
    /// </summary>
    public static ushort Examine(in Float80 x, bool isEmpty)
    {
        ushort sign = x.IsNegative ? X87StatusBits.C1 : (ushort)0;
        if (isEmpty)
        {
            return (ushort)(X87StatusBits.C3 | X87StatusBits.C0 | sign);
        }

        ushort code = x.Class switch
        {
            Float80Class.Unsupported => 0,
            Float80Class.QuietNaN or Float80Class.SignalingNaN => X87StatusBits.C0,
            Float80Class.Normal => X87StatusBits.C2,
            Float80Class.Infinity => X87StatusBits.C2 | X87StatusBits.C0,
            Float80Class.Zero => X87StatusBits.C3,
            _ => X87StatusBits.C3 | X87StatusBits.C2,
        };
        return (ushort)(code | sign);
    }
}
