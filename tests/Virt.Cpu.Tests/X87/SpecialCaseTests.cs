using Virt.Cpu.X87;
using Xunit;

namespace Virt.Cpu.Tests.X87;

/// <summary>Special operands and exception responses from Intel SDM Vol. 1, 4.8.3 and 4.9, and the Vol. 2A instruction tables.</summary>
public sealed class SpecialCaseTests
{
    private static readonly Float80 s_one = Float80.One;
    private static readonly Float80 s_two = new(0x4000, 0x8000_0000_0000_0000);
    private static readonly Float80 s_max = new(0x7FFE, ulong.MaxValue);
    private static readonly Float80 s_minNormal = new(0x0001, 0x8000_0000_0000_0000);
    private static readonly Float80 s_snan = new(0x7FFF, 0x8000_0000_0000_0001);
    private static readonly Float80 s_qnan = new(0x7FFF, 0xC000_0000_0000_1234);
    private static readonly Float80 s_denormal = new(0x0000, 0x0000_0000_0000_0001);
    private static readonly Float80 s_unnormal = new(0x3FFF, 0x4000_0000_0000_0000);

    private static X87Context Masked() => X87Context.Masked();

    [Fact]
    public void Infinity_minus_infinity_is_invalid_and_indefinite()
    {
        X87Context ctx = Masked();
        Float80 r = X87Math.Subtract(Float80.PositiveInfinity, Float80.PositiveInfinity, ref ctx);
        Assert.Equal(Float80.Indefinite, r);
        Assert.Equal(X87Exceptions.Invalid, ctx.Flags);
        Assert.Equal("FFFF C000000000000000", r.ToString());
    }

    [Fact]
    public void Zero_over_zero_is_invalid()
    {
        X87Context ctx = Masked();
        Assert.Equal(Float80.Indefinite, X87Math.Divide(Float80.PositiveZero, Float80.NegativeZero, ref ctx));
        Assert.Equal(X87Exceptions.Invalid, ctx.Flags);
    }

    [Fact]
    public void Finite_over_zero_raises_divide_by_zero_with_signed_infinity()
    {
        X87Context ctx = Masked();
        Assert.Equal(Float80.NegativeInfinity, X87Math.Divide(s_one.Negate(), Float80.PositiveZero, ref ctx));
        Assert.Equal(X87Exceptions.ZeroDivide, ctx.Flags);
    }

    [Fact]
    public void Unmasked_divide_by_zero_suppresses_the_write()
    {
        var ctx = new X87Context(X87PrecisionControl.Extended, X87RoundingControl.Nearest, X87Exceptions.All & ~X87Exceptions.ZeroDivide);
        X87Math.Divide(s_one, Float80.PositiveZero, ref ctx);
        Assert.True(ctx.SuppressWrite);
        Assert.Equal(X87Exceptions.ZeroDivide, ctx.Unmasked);
    }

    [Fact]
    public void Zero_times_infinity_is_invalid()
    {
        X87Context ctx = Masked();
        Assert.Equal(Float80.Indefinite, X87Math.Multiply(Float80.NegativeZero, Float80.PositiveInfinity, ref ctx));
        Assert.Equal(X87Exceptions.Invalid, ctx.Flags);
    }

    [Fact]
    public void Square_root_of_negative_is_invalid_but_minus_zero_is_kept()
    {
        X87Context ctx = Masked();
        Assert.Equal(Float80.Indefinite, X87Math.SquareRoot(s_one.Negate(), ref ctx));
        Assert.Equal(X87Exceptions.Invalid, ctx.Flags);
        ctx = Masked();
        Assert.Equal(Float80.NegativeZero, X87Math.SquareRoot(Float80.NegativeZero, ref ctx));
        Assert.Equal(X87Exceptions.None, ctx.Flags);
    }

    [Fact]
    public void Signaling_nan_operand_raises_invalid_and_is_quieted()
    {
        X87Context ctx = Masked();
        Assert.Equal(new Float80(0x7FFF, 0xC000_0000_0000_0001), X87Math.Add(s_one, s_snan, ref ctx));
        Assert.Equal(X87Exceptions.Invalid, ctx.Flags);
    }

    [Fact]
    public void Quiet_nan_propagates_without_exception()
    {
        X87Context ctx = Masked();
        Assert.Equal(s_qnan, X87Math.Multiply(s_qnan, s_two, ref ctx));
        Assert.Equal(X87Exceptions.None, ctx.Flags);
    }

    [Fact]
    public void Nan_selection_follows_table_4_7()
    {
        // SNaN and QNaN: the QNaN; two QNaNs: the larger significand.
        X87Context ctx = Masked();
        Assert.Equal(s_qnan, X87Math.Add(s_snan, s_qnan, ref ctx));
        Assert.Equal(X87Exceptions.Invalid, ctx.Flags);
        var bigger = new Float80(0xFFFF, 0xC000_0000_0000_9999);
        ctx = Masked();
        Assert.Equal(bigger, X87Math.Add(s_qnan, bigger, ref ctx));
        Assert.Equal(X87Exceptions.None, ctx.Flags);
    }

    [Fact]
    public void Unsupported_operand_is_invalid()
    {
        X87Context ctx = Masked();
        Assert.Equal(Float80Class.Unsupported, s_unnormal.Class);
        Assert.Equal(Float80.Indefinite, X87Math.Add(s_unnormal, s_one, ref ctx));
        Assert.Equal(X87Exceptions.Invalid, ctx.Flags);
    }

    [Fact]
    public void Denormal_operand_raises_denormal_and_unmasked_suppresses()
    {
        X87Context ctx = Masked();
        X87Math.Add(s_denormal, s_one, ref ctx);
        Assert.Equal(X87Exceptions.Denormal | X87Exceptions.Precision, ctx.Flags);

        var unmasked = new X87Context(X87PrecisionControl.Extended, X87RoundingControl.Nearest, X87Exceptions.All & ~X87Exceptions.Denormal);
        X87Math.Add(s_denormal, s_one, ref unmasked);
        Assert.True(unmasked.SuppressWrite);
    }

    [Theory]
    [InlineData((int)X87RoundingControl.Nearest, false, "7FFF 8000000000000000")]
    [InlineData((int)X87RoundingControl.Zero, false, "7FFE FFFFFFFFFFFFFFFF")]
    [InlineData((int)X87RoundingControl.Up, true, "FFFE FFFFFFFFFFFFFFFF")]
    [InlineData((int)X87RoundingControl.Down, true, "FFFF 8000000000000000")]
    [InlineData((int)X87RoundingControl.Down, false, "7FFE FFFFFFFFFFFFFFFF")]
    public void Masked_overflow_depends_on_rounding(int rcValue, bool negative, string expected)
    {
        var rc = (X87RoundingControl)rcValue;
        // SDM Vol. 1, 4.9.1.4, Table 4-10.
        var ctx = X87Context.Masked(X87PrecisionControl.Extended, rc);
        Float80 r = X87Math.Multiply(s_max.WithSign(negative), s_two, ref ctx);
        Assert.Equal(expected, r.ToString());
        Assert.Equal(X87Exceptions.Overflow | X87Exceptions.Precision, ctx.Flags);
    }

    [Fact]
    public void Masked_overflow_with_single_precision_gives_largest_24_bit_value()
    {
        var ctx = X87Context.Masked(X87PrecisionControl.Single, X87RoundingControl.Zero);
        Assert.Equal("7FFE FFFFFF0000000000", X87Math.Multiply(s_max, s_two, ref ctx).ToString());
    }

    [Fact]
    public void Unmasked_overflow_to_register_wraps_the_exponent()
    {
        // max * 2 = 1.111 * 2^16384: exponent 16384 - 24576 = -8192, biased 0x1FFF (SDM 8.5.4).
        var ctx = new X87Context(X87PrecisionControl.Extended, X87RoundingControl.Nearest, X87Exceptions.All & ~X87Exceptions.Overflow);
        Float80 r = X87Math.Multiply(s_max, s_two, ref ctx);
        Assert.Equal("1FFF FFFFFFFFFFFFFFFF", r.ToString());
        Assert.Equal(X87Exceptions.Overflow, ctx.Flags);
        Assert.False(ctx.SuppressWrite);
    }

    [Fact]
    public void Unmasked_underflow_to_register_wraps_the_exponent()
    {
        // 2^-16382 / 2 = 2^-16383: exponent -16383 + 24576 = 8193, biased 0x6000 (SDM 8.5.5).
        var ctx = new X87Context(X87PrecisionControl.Extended, X87RoundingControl.Nearest, X87Exceptions.All & ~X87Exceptions.Underflow);
        Float80 r = X87Math.Divide(s_minNormal, s_two, ref ctx);
        Assert.Equal("6000 8000000000000000", r.ToString());
        Assert.Equal(X87Exceptions.Underflow, ctx.Flags);
    }

    [Fact]
    public void Masked_exact_denormal_result_does_not_raise_underflow()
    {
        X87Context ctx = Masked();
        Float80 r = X87Math.Divide(s_minNormal, s_two, ref ctx);
        Assert.Equal("0000 4000000000000000", r.ToString());
        Assert.Equal(X87Exceptions.None, ctx.Flags);
    }

    [Fact]
    public void Unmasked_overflow_on_store_suppresses_the_store()
    {
        var ctx = new X87Context(X87PrecisionControl.Extended, X87RoundingControl.Nearest, X87Exceptions.All & ~X87Exceptions.Overflow);
        X87Math.ToDouble(s_max, ref ctx);
        Assert.True(ctx.SuppressWrite);
        Assert.Equal(X87Exceptions.Overflow, ctx.Flags);
    }

    [Fact]
    public void Exact_cancellation_gives_plus_zero_or_minus_zero_when_rounding_down()
    {
        X87Context ctx = Masked();
        Assert.Equal(Float80.PositiveZero, X87Math.Subtract(s_two, s_two, ref ctx));
        ctx = X87Context.Masked(X87PrecisionControl.Extended, X87RoundingControl.Down);
        Assert.Equal(Float80.NegativeZero, X87Math.Subtract(s_two, s_two, ref ctx));
        ctx = Masked();
        Assert.Equal(Float80.NegativeZero, X87Math.Add(Float80.NegativeZero, Float80.NegativeZero, ref ctx));
    }

    [Fact]
    public void C1_reports_rounding_up()
    {
        // 1 + 2^-64 rounds to nearest-even 1 (C1 = 0); rounding up gives 1 + 2^-63 (C1 = 1).
        var tiny = new Float80(0x3FFF - 64, 0x8000_0000_0000_0000);
        X87Context ctx = Masked();
        Assert.Equal(s_one, X87Math.Add(s_one, tiny, ref ctx));
        Assert.False(ctx.RoundedUp);
        Assert.Equal(X87Exceptions.Precision, ctx.Flags);
        ctx = X87Context.Masked(X87PrecisionControl.Extended, X87RoundingControl.Up);
        Assert.Equal(new Float80(0x3FFF, 0x8000_0000_0000_0001), X87Math.Add(s_one, tiny, ref ctx));
        Assert.True(ctx.RoundedUp);
    }

    [Fact]
    public void Ten_thirds_at_each_precision()
    {
        var ten = new Float80(0x4002, 0xA000_0000_0000_0000);
        var three = new Float80(0x4000, 0xC000_0000_0000_0000);
        (X87PrecisionControl Pc, string Expected)[] cases =
        [
            (X87PrecisionControl.Single, "4000 D555550000000000"),
            (X87PrecisionControl.Double, "4000 D555555555555800"),
            (X87PrecisionControl.Extended, "4000 D555555555555555"),
        ];
        foreach ((X87PrecisionControl pc, string expected) in cases)
        {
            var ctx = X87Context.Masked(pc);
            Assert.Equal(expected, X87Math.Divide(ten, three, ref ctx).ToString());
        }
    }

    [Theory]
    [InlineData("3FFF 8000000000000000", "3FFF C000000000000000", (int)X87CompareResult.Less)]
    [InlineData("4000 8000000000000000", "3FFF C000000000000000", (int)X87CompareResult.Greater)]
    [InlineData("0000 0000000000000000", "8000 0000000000000000", (int)X87CompareResult.Equal)]
    [InlineData("FFFF 8000000000000000", "BFFF 8000000000000000", (int)X87CompareResult.Less)]
    [InlineData("0000 8000000000000000", "0001 8000000000000000", (int)X87CompareResult.Equal)]
    public void Compare_orders_values(string a, string b, int expectedValue)
    {
        var expected = (X87CompareResult)expectedValue;
        X87Context ctx = Masked();
        Assert.Equal(expected, X87Math.Compare(Float80.Parse(a), Float80.Parse(b), quiet: false, ref ctx));
    }

    [Fact]
    public void Fcom_signals_on_qnan_but_fucom_does_not()
    {
        X87Context ctx = Masked();
        Assert.Equal(X87CompareResult.Unordered, X87Math.Compare(s_qnan, s_one, quiet: false, ref ctx));
        Assert.Equal(X87Exceptions.Invalid, ctx.Flags);
        ctx = Masked();
        Assert.Equal(X87CompareResult.Unordered, X87Math.Compare(s_qnan, s_one, quiet: true, ref ctx));
        Assert.Equal(X87Exceptions.None, ctx.Flags);
        ctx = Masked();
        X87Math.Compare(s_one, s_snan, quiet: true, ref ctx);
        Assert.Equal(X87Exceptions.Invalid, ctx.Flags);
    }

    [Fact]
    public void Compare_codes_and_eflags_follow_the_fcom_and_fcomi_tables()
    {
        Assert.Equal(0, X87Math.ConditionCodes(X87CompareResult.Greater));
        Assert.Equal(X87StatusBits.C0, X87Math.ConditionCodes(X87CompareResult.Less));
        Assert.Equal(X87StatusBits.C3, X87Math.ConditionCodes(X87CompareResult.Equal));
        Assert.Equal(X87StatusBits.C3 | X87StatusBits.C2 | X87StatusBits.C0, X87Math.ConditionCodes(X87CompareResult.Unordered));
        Assert.Equal(0x41u, X87Math.ComparisonEflags(X87CompareResult.Equal) | X87Math.ComparisonEflags(X87CompareResult.Less));
        Assert.Equal(0x45u, X87Math.ComparisonEflags(X87CompareResult.Unordered));
    }

    [Theory]
    [InlineData("3FFF 8000000000000000", false, 0x0400)]
    [InlineData("BFFF 8000000000000000", false, 0x0600)]
    [InlineData("7FFF 8000000000000000", false, 0x0500)]
    [InlineData("7FFF C000000000000000", false, 0x0100)]
    [InlineData("8000 0000000000000000", false, 0x4200)]
    [InlineData("0000 0000000000000001", false, 0x4400)]
    [InlineData("0000 8000000000000000", false, 0x4400)]
    [InlineData("3FFF 4000000000000000", false, 0x0000)]
    [InlineData("0000 0000000000000000", true, 0x4100)]
    public void Fxam_classifies(string value, bool empty, int expected)
    {
        Assert.Equal(expected, X87Math.Examine(Float80.Parse(value), empty));
    }

    [Theory]
    [InlineData((int)X87Constant.Pi, (int)X87RoundingControl.Nearest, "4000 C90FDAA22168C235")]
    [InlineData((int)X87Constant.Pi, (int)X87RoundingControl.Down, "4000 C90FDAA22168C234")]
    [InlineData((int)X87Constant.Pi, (int)X87RoundingControl.Zero, "4000 C90FDAA22168C234")]
    [InlineData((int)X87Constant.Pi, (int)X87RoundingControl.Up, "4000 C90FDAA22168C235")]
    [InlineData((int)X87Constant.Log2Ten, (int)X87RoundingControl.Nearest, "4000 D49A784BCD1B8AFE")]
    [InlineData((int)X87Constant.Log2Ten, (int)X87RoundingControl.Up, "4000 D49A784BCD1B8AFF")]
    [InlineData((int)X87Constant.Log2E, (int)X87RoundingControl.Nearest, "3FFF B8AA3B295C17F0BC")]
    [InlineData((int)X87Constant.Log2E, (int)X87RoundingControl.Down, "3FFF B8AA3B295C17F0BB")]
    [InlineData((int)X87Constant.Log10Two, (int)X87RoundingControl.Nearest, "3FFD 9A209A84FBCFF799")]
    [InlineData((int)X87Constant.Ln2, (int)X87RoundingControl.Nearest, "3FFE B17217F7D1CF79AC")]
    [InlineData((int)X87Constant.Ln2, (int)X87RoundingControl.Zero, "3FFE B17217F7D1CF79AB")]
    [InlineData((int)X87Constant.One, (int)X87RoundingControl.Up, "3FFF 8000000000000000")]
    [InlineData((int)X87Constant.Zero, (int)X87RoundingControl.Down, "0000 0000000000000000")]
    public void Constants_round_per_rounding_control(int constantValue, int rcValue, string expected)
    {
        var constant = (X87Constant)constantValue;
        var rc = (X87RoundingControl)rcValue;
        Assert.Equal(expected, X87Math.LoadConstant(constant, rc).ToString());
    }

    [Theory]
    [InlineData("4000 A000000000000000", (int)X87RoundingControl.Nearest, "4000 8000000000000000", true, false)] // 2.5 -> 2
    [InlineData("4000 E000000000000000", (int)X87RoundingControl.Nearest, "4001 8000000000000000", true, true)] // 3.5 -> 4
    [InlineData("C000 A000000000000000", (int)X87RoundingControl.Down, "C000 C000000000000000", true, true)] // -2.5 -> -3
    [InlineData("3FFD 9999999999999800", (int)X87RoundingControl.Up, "3FFF 8000000000000000", true, true)] // 0.3 -> 1
    [InlineData("BFFD 9999999999999800", (int)X87RoundingControl.Up, "8000 0000000000000000", true, false)] // -0.3 -> -0
    [InlineData("403E 8000000000000001", (int)X87RoundingControl.Nearest, "403E 8000000000000001", false, false)]
    public void Frndint_rounds_per_rc(string x, int rcValue, string expected, bool inexact, bool up)
    {
        var rc = (X87RoundingControl)rcValue;
        var ctx = X87Context.Masked(X87PrecisionControl.Single, rc);
        Assert.Equal(expected, X87Math.RoundToIntegral(Float80.Parse(x), ref ctx).ToString());
        Assert.Equal(inexact ? X87Exceptions.Precision : X87Exceptions.None, ctx.Flags);
        Assert.Equal(up, ctx.RoundedUp);
    }

    [Fact]
    public void Fscale_scales_and_handles_infinities()
    {
        X87Context ctx = Masked();
        var three = new Float80(0x4000, 0xC000_0000_0000_0000);
        Assert.Equal("4002 8000000000000000", X87Math.Scale(s_one, three, ref ctx).ToString());
        Assert.Equal("3FFC 8000000000000000", X87Math.Scale(s_one, three.Negate(), ref ctx).ToString());
        // trunc(-3.5) = -3
        Assert.Equal("3FFC 8000000000000000", X87Math.Scale(s_one, Float80.Parse("C000 E000000000000000"), ref ctx).ToString());
        Assert.Equal(Float80.PositiveZero, X87Math.Scale(s_one, Float80.NegativeInfinity, ref ctx));
        Assert.Equal(X87Exceptions.None, ctx.Flags);
        Assert.Equal(Float80.Indefinite, X87Math.Scale(Float80.PositiveZero, Float80.PositiveInfinity, ref ctx));
        Assert.Equal(X87Exceptions.Invalid, ctx.Flags);
    }

    [Fact]
    public void Fscale_into_denormals_and_overflow()
    {
        X87Context ctx = Masked();
        var minus16383 = X87Math.FromInt64(-16383);
        Assert.Equal("0000 4000000000000000", X87Math.Scale(s_one, minus16383, ref ctx).ToString());
        Assert.Equal(X87Exceptions.None, ctx.Flags);
        Assert.Equal(Float80.PositiveInfinity, X87Math.Scale(s_one, X87Math.FromInt64(1 << 30), ref ctx));
        Assert.Equal(X87Exceptions.Overflow | X87Exceptions.Precision, ctx.Flags);
    }

    [Fact]
    public void Fxtract_splits_exponent_and_significand()
    {
        X87Context ctx = Masked();
        (Float80 e, Float80 s) = X87Math.Extract(Float80.Parse("C002 A000000000000000"), ref ctx);
        Assert.Equal(X87Math.FromInt64(3), e);
        Assert.Equal("BFFF A000000000000000", s.ToString());
        (e, s) = X87Math.Extract(s_denormal, ref ctx);
        Assert.Equal(X87Math.FromInt64(-16382 - 63), e);
        Assert.Equal(s_one, s);
        Assert.Equal(X87Exceptions.Denormal, ctx.Flags);
        ctx = Masked();
        (e, s) = X87Math.Extract(Float80.NegativeZero, ref ctx);
        Assert.Equal(Float80.NegativeInfinity, e);
        Assert.Equal(Float80.NegativeZero, s);
        Assert.Equal(X87Exceptions.ZeroDivide, ctx.Flags);
    }

    [Theory]
    [InlineData(10, 3, false, 1, 3)]
    [InlineData(11, 3, false, 2, 3)]
    [InlineData(11, 3, true, -1, 4)]
    [InlineData(-11, 3, false, -2, 3)]
    [InlineData(-11, 3, true, 1, 4)]
    [InlineData(9, 6, true, -3, 2)] // 1.5 rounds to even 2: remainder 9 - 12 = -3
    [InlineData(15, 6, true, 3, 2)] // 2.5 rounds to even 2: remainder 3
    [InlineData(2, 3, true, -1, 1)]
    [InlineData(1, 2, true, 1, 0)] // 0.5 rounds to even 0
    [InlineData(7, 8, false, 7, 0)]
    [InlineData(57, 7, false, 1, 0)] // quotient 8: bits 000
    public void Fprem_and_fprem1_give_remainder_and_quotient_bits(long a, long b, bool ieee, long remainder, int quotientBits)
    {
        X87Context ctx = Masked();
        Float80 r = X87Math.Remainder(X87Math.FromInt64(a), X87Math.FromInt64(b), ieee, ref ctx, out int q, out bool incomplete);
        Assert.False(incomplete);
        Assert.Equal(X87Math.FromInt64(remainder).WithSign(remainder == 0 ? a < 0 : remainder < 0), r);
        Assert.Equal(quotientBits, q);
        Assert.Equal(X87Exceptions.None, ctx.Flags);
    }

    // Exponent differences of 64 or more: one partial step (C2 = 1) with N = 32 + (D mod 32) (Intel SDM Vol. 2A,
    // FPREM/FPREM1 "Operation": the quotient QQ is truncated for FPREM1 too). Expected patterns were measured on an
    // Intel Xeon (FLD/FPREM/FSTP of the same 80-bit patterns); QEMU and Bochs give the same.
    [Theory]
    [InlineData(0x4063, 0x9A2B3C4D5E6F7809UL, false, 0x403F, 0xDF009ABAE466E440UL)] // D = 100, N = 36
    [InlineData(0x4063, 0x9A2B3C4D5E6F7809UL, true, 0x403F, 0xDF009ABAE466E440UL)]
    [InlineData(0x403F, 0x9A2B3C4D5E6F7809UL, false, 0x401F, 0x8DA73851CBDB7AC8UL)] // D = 64, N = 32
    [InlineData(0x403F, 0x9A2B3C4D5E6F7809UL, true, 0x401F, 0x8DA73851CBDB7AC8UL)]
    [InlineData(0x405E, 0x9A2B3C4D5E6F7809UL, false, 0x401C, 0xA011C22A293FB7C0UL)] // D = 95, N = 63
    [InlineData(0xC05F, 0x9A2B3C4D5E6F7809UL, true, 0xC03F, 0x8DA73851CBDB7AC8UL)] // D = 96, N = 32, negative
    public void Fprem_with_exponent_difference_over_63_reduces_like_hardware(int dividendSignExponent, ulong dividendSignificand, bool ieee, int expectedSignExponent, ulong expectedSignificand)
    {
        X87Context ctx = Masked();
        var divisor = new Float80(0x3FFF, 0xFF6E5D4C3B2A1908);
        Float80 r = X87Math.Remainder(new Float80((ushort)dividendSignExponent, dividendSignificand), divisor, ieee, ref ctx, out _, out bool incomplete);
        Assert.True(incomplete);
        Assert.Equal(new Float80((ushort)expectedSignExponent, expectedSignificand), r);
        Assert.Equal(X87Exceptions.None, ctx.Flags);
    }

    [Fact]
    public void Fprem_of_infinity_or_by_zero_is_invalid()
    {
        X87Context ctx = Masked();
        Assert.Equal(Float80.Indefinite, X87Math.Remainder(Float80.PositiveInfinity, s_one, false, ref ctx, out _, out _));
        Assert.Equal(Float80.Indefinite, X87Math.Remainder(s_one, Float80.PositiveZero, true, ref ctx, out _, out _));
        Assert.Equal(X87Exceptions.Invalid, ctx.Flags);
        ctx = Masked();
        Assert.Equal(s_two, X87Math.Remainder(s_two, Float80.PositiveInfinity, false, ref ctx, out _, out _));
        Assert.Equal(X87Exceptions.None, ctx.Flags);
    }

    [Fact]
    public void Fabs_and_fchs_touch_only_the_sign()
    {
        Assert.Equal(new Float80(0x7FFF, 0x8000_0000_0000_0001), X87Math.Absolute(s_snan.Negate()));
        Assert.Equal(new Float80(0xFFFF, 0x8000_0000_0000_0001), X87Math.ChangeSign(s_snan));
    }
}
