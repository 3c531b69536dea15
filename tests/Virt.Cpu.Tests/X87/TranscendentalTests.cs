using System.Globalization;
using System.Numerics;
using Virt.Cpu.X87;
using Xunit;
using Xunit.Abstractions;

namespace Virt.Cpu.Tests.X87;

/// <summary>
/// The transcendental instructions against mpmath reference values (<c>TestData/X87TranscendentalCases.txt</c>):
/// every case must be correctly rounded for its rounding control, and the error against the exact value
/// is reported in ulps (docs/x87.md quotes these figures).
/// </summary>
public sealed class TranscendentalTests
{
    private readonly ITestOutputHelper _output;

    public TranscendentalTests(ITestOutputHelper output) => _output = output;

    private static Float80 Hex(string text) => Float80.Parse(text);

    /// <summary>The golden cases: <c>TestData/X87TranscendentalCases.txt</c>, one a line; # starts a comment.</summary>
    private static IEnumerable<string> TranscendentalCaseLines() =>
        File.ReadLines(Path.Combine(AppContext.BaseDirectory, "TestData", "X87TranscendentalCases.txt"))
            .Where(l => l.Length > 0 && !l.StartsWith('#'));

    [Fact]
    public void Reference_cases_are_correctly_rounded()
    {
        var worst = new Dictionary<string, double>();
        var counts = new Dictionary<string, int>();
        var failures = new List<string>();
        foreach (string line in TranscendentalCaseLines())
        {
            string[] f = line.Split(' ');
            string name = f[0];
            var rc = Enum.Parse<X87RoundingControl>(f[1]);
            var ctx = X87Context.Masked(X87PrecisionControl.Single, rc);
            int next = 3;
            Float80 actual;
            switch (name)
            {
                case "FSIN":
                    actual = X87Math.Sine(Hex(f[2]), ref ctx, out _);
                    break;
                case "FCOS":
                    actual = X87Math.Cosine(Hex(f[2]), ref ctx, out _);
                    break;
                case "FPTAN":
                    actual = X87Math.Tangent(Hex(f[2]), ref ctx, out _);
                    break;
                case "F2XM1":
                    actual = X87Math.TwoToXMinusOne(Hex(f[2]), ref ctx);
                    break;
                case "FPATAN":
                    actual = X87Math.ArcTangent(Hex(f[2]), Hex(f[3]), ref ctx);
                    next = 4;
                    break;
                case "FYL2X":
                    actual = X87Math.YLog2X(Hex(f[2]), Hex(f[3]), ref ctx);
                    next = 4;
                    break;
                default:
                    actual = X87Math.YLog2XPlusOne(Hex(f[2]), Hex(f[3]), ref ctx);
                    next = 4;
                    break;
            }

            Float80 expected = Hex(f[next]);
            double ulps = UlpError(actual, f[next + 1] == "-", int.Parse(f[next + 2], CultureInfo.InvariantCulture), BigInteger.Parse("0" + f[next + 3], NumberStyles.HexNumber, CultureInfo.InvariantCulture));
            string key = name + (rc == X87RoundingControl.Nearest ? " (nearest)" : " (directed)");
            worst[key] = Math.Max(worst.GetValueOrDefault(key), ulps);
            counts[key] = counts.GetValueOrDefault(key) + 1;
            if (actual != expected)
            {
                failures.Add($"{line}: got {actual} ({ulps:F3} ulp)");
            }

            Assert.True((ctx.Flags & X87Exceptions.Precision) != 0, line);
        }

        foreach ((string key, double ulps) in worst.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            _output.WriteLine($"{key}: {counts[key]} cases, max error {ulps:F6} ulp");
        }

        Assert.True(failures.Count == 0, string.Join('\n', failures.Take(20)));
    }

    /// <summary>|actual - exact| in units of the last place of the exact value's binade.</summary>
    private static double UlpError(Float80 actual, bool negative, int exponent, BigInteger significand128)
    {
        (BigInteger sa, int ea) = ReferenceArithmetic.Exact(actual);
        if (actual.IsNegative)
        {
            sa = -sa;
        }

        BigInteger se = negative ? -significand128 : significand128;
        int ee = exponent - 127;
        int lsb = Math.Min(ea, ee);
        BigInteger diff = BigInteger.Abs((sa << (ea - lsb)) - (se << (ee - lsb)));
        int ulpShift = (exponent - 63) - lsb;
        return (double)diff / Math.Pow(2, ulpShift);
    }

    [Fact]
    public void Trig_out_of_range_sets_c2_and_keeps_the_operand()
    {
        var big = new Float80(0x403E, 0x8000_0000_0000_0000); // 2^63
        X87Context ctx = X87Context.Masked();
        Assert.Equal(big, X87Math.Sine(big, ref ctx, out bool outOfRange));
        Assert.True(outOfRange);
        Assert.Equal(big, X87Math.Tangent(big, ref ctx, out outOfRange));
        Assert.True(outOfRange);
        Assert.Equal(X87Exceptions.None, ctx.Flags);
        var justBelow = new Float80(0x403D, 0xFFFF_FFFF_FFFF_FFFF);
        X87Math.Cosine(justBelow, ref ctx, out outOfRange);
        Assert.False(outOfRange);
    }

    [Fact]
    public void Trig_special_operands()
    {
        X87Context ctx = X87Context.Masked();
        Assert.Equal(Float80.NegativeZero, X87Math.Sine(Float80.NegativeZero, ref ctx, out _));
        Assert.Equal(Float80.One, X87Math.Cosine(Float80.NegativeZero, ref ctx, out _));
        Assert.Equal(X87Exceptions.None, ctx.Flags);
        Assert.Equal(Float80.Indefinite, X87Math.Sine(Float80.PositiveInfinity, ref ctx, out _));
        Assert.Equal(X87Exceptions.Invalid, ctx.Flags);
    }

    [Fact]
    public void Sine_of_a_tiny_value_rounds_to_it_or_just_below()
    {
        var x = new Float80(0x3FFF - 40, 0xC000_0000_0000_0000);
        X87Context ctx = X87Context.Masked();
        Assert.Equal(x, X87Math.Sine(x, ref ctx, out _));
        ctx = X87Context.Masked(X87PrecisionControl.Extended, X87RoundingControl.Zero);
        Assert.Equal(new Float80(0x3FFF - 40, 0xBFFF_FFFF_FFFF_FFFF), X87Math.Sine(x, ref ctx, out _));
    }

    [Theory]
    [InlineData("0000 0000000000000000", "3FFF 8000000000000000", "0000 0000000000000000")] // atan2(+0, 1) = +0
    [InlineData("8000 0000000000000000", "BFFF 8000000000000000", "C000 C90FDAA22168C235")] // atan2(-0, -1) = -pi
    [InlineData("3FFF 8000000000000000", "0000 0000000000000000", "3FFF C90FDAA22168C235")] // pi/2
    [InlineData("7FFF 8000000000000000", "FFFF 8000000000000000", "4000 96CBE3F9990E91A8")] // 3pi/4
    [InlineData("3FFF 8000000000000000", "3FFF 8000000000000000", "3FFE C90FDAA22168C235")] // pi/4
    public void Fpatan_special_cases(string y, string x, string expected)
    {
        X87Context ctx = X87Context.Masked();
        Assert.Equal(expected, X87Math.ArcTangent(Hex(y), Hex(x), ref ctx).ToString());
    }

    [Fact]
    public void Exact_logarithm_and_exponential_cases()
    {
        X87Context ctx = X87Context.Masked();
        Float80 three = X87Math.FromInt64(3);
        Assert.Equal(X87Math.FromInt64(9), X87Math.YLog2X(three, X87Math.FromInt64(8), ref ctx));
        Assert.Equal(Float80.PositiveZero, X87Math.YLog2X(three, Float80.One, ref ctx));
        Assert.Equal(three, X87Math.YLog2XPlusOne(three, Float80.One, ref ctx));
        Assert.Equal(Float80.One, X87Math.TwoToXMinusOne(Float80.One, ref ctx));
        Assert.Equal("BFFE 8000000000000000", X87Math.TwoToXMinusOne(Float80.One.Negate(), ref ctx).ToString());
        Assert.Equal(X87Exceptions.None, ctx.Flags);
        Assert.Equal(Float80.One.Negate(), X87Math.TwoToXMinusOne(Float80.NegativeInfinity, ref ctx));
    }

    [Fact]
    public void Logarithm_special_cases()
    {
        X87Context ctx = X87Context.Masked();
        Assert.Equal(Float80.NegativeInfinity, X87Math.YLog2X(Float80.One, Float80.PositiveZero, ref ctx));
        Assert.Equal(X87Exceptions.ZeroDivide, ctx.Flags);
        ctx = X87Context.Masked();
        Assert.Equal(Float80.Indefinite, X87Math.YLog2X(Float80.One, Float80.One.Negate(), ref ctx));
        Assert.Equal(X87Exceptions.Invalid, ctx.Flags);
        ctx = X87Context.Masked();
        Assert.Equal(Float80.Indefinite, X87Math.YLog2X(Float80.PositiveZero, Float80.PositiveZero, ref ctx));
        ctx = X87Context.Masked();
        Assert.Equal(Float80.NegativeInfinity, X87Math.YLog2X(Float80.PositiveInfinity, new Float80(0x3FFE, 0x8000_0000_0000_0000), ref ctx));
        Assert.Equal(X87Exceptions.None, ctx.Flags);
    }

    [Fact]
    public void Sine_of_a_denormal_is_that_denormal_with_underflow()
    {
        // sin x = x - x^3/6: below x by far less than a denormal's ulp.
        var x = new Float80(0x0000, 0x0000_0000_1234_5678);
        X87Context ctx = X87Context.Masked();
        Assert.Equal(x, X87Math.Sine(x, ref ctx, out _));
        Assert.Equal(X87Exceptions.Denormal | X87Exceptions.Underflow | X87Exceptions.Precision, ctx.Flags);
        ctx = X87Context.Masked(X87PrecisionControl.Extended, X87RoundingControl.Zero);
        Assert.Equal(new Float80(0x0000, 0x0000_0000_1234_5677), X87Math.Sine(x, ref ctx, out _));
        ctx = X87Context.Masked();
        Assert.Equal(x, X87Math.Tangent(x, ref ctx, out _));
        Assert.Equal(Float80.One, X87Math.Cosine(x, ref ctx, out _));
    }

    [Theory]
    [InlineData("FSIN", "3F37 8000000000000000", (int)X87RoundingControl.Zero, "3F36 FFFFFFFFFFFFFFFF")]
    [InlineData("FSIN", "BF37 8000000000000000", (int)X87RoundingControl.Up, "BF36 FFFFFFFFFFFFFFFF")]
    [InlineData("FSIN", "3F37 8000000000000000", (int)X87RoundingControl.Nearest, "3F37 8000000000000000")]
    [InlineData("FCOS", "3F37 8000000000000000", (int)X87RoundingControl.Up, "3FFF 8000000000000000")]
    [InlineData("FCOS", "3F37 8000000000000000", (int)X87RoundingControl.Down, "3FFE FFFFFFFFFFFFFFFF")]
    [InlineData("FCOS", "3F37 8000000000000000", (int)X87RoundingControl.Nearest, "3FFF 8000000000000000")]
    [InlineData("FPTAN", "3F37 C000000000000000", (int)X87RoundingControl.Up, "3F37 C000000000000001")]
    [InlineData("FPTAN", "3F37 C000000000000000", (int)X87RoundingControl.Zero, "3F37 C000000000000000")]
    [InlineData("FPATAN", "3F37 8000000000000000", (int)X87RoundingControl.Zero, "3F36 FFFFFFFFFFFFFFFF")]
    [InlineData("FPATAN", "3F37 8000000000000000", (int)X87RoundingControl.Up, "3F37 8000000000000000")]
    public void Tiny_arguments_round_in_the_right_direction(string instruction, string x, int rcValue, string expected)
    {
        // For |x| < 2^-100: sin x and atan x lie just below x, tan x just above, cos x just below 1.
        var ctx = X87Context.Masked(X87PrecisionControl.Extended, (X87RoundingControl)rcValue);
        Float80 actual = instruction switch
        {
            "FSIN" => X87Math.Sine(Hex(x), ref ctx, out _),
            "FCOS" => X87Math.Cosine(Hex(x), ref ctx, out _),
            "FPTAN" => X87Math.Tangent(Hex(x), ref ctx, out _),
            _ => X87Math.ArcTangent(Hex(x), Float80.One, ref ctx),
        };
        Assert.Equal(expected, actual.ToString());
        Assert.Equal(X87Exceptions.Precision, ctx.Flags);
    }
}
