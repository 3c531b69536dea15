using System.Numerics;
using Virt.Cpu.X87;
using Xunit;

namespace Virt.Cpu.Tests.X87;

/// <summary>The FLDxx constants against values derived here from BigInteger series, in every rounding mode.</summary>
public sealed class X87ConstantTests
{
    private const int Scale = 256;

    private static BigInteger ArctanInverse(int n, bool hyperbolic)
    {
        // atan(1/n) or atanh(1/n) = sum (+-)1 / ((2k+1) n^(2k+1)), at 2^Scale.
        BigInteger power = (BigInteger.One << Scale) / n;
        BigInteger sum = power;
        for (int k = 1; !power.IsZero; k++)
        {
            power /= n * n;
            BigInteger term = power / ((2 * k) + 1);
            sum += hyperbolic || k % 2 == 0 ? term : -term;
        }

        return sum;
    }

    public static TheoryData<int> Constants => [(int)X87Constant.Pi, (int)X87Constant.Log2Ten, (int)X87Constant.Log2E, (int)X87Constant.Log10Two, (int)X87Constant.Ln2];

    [Theory]
    [MemberData(nameof(Constants))]
    public void Constant_is_the_correctly_rounded_value(int constantValue)
    {
        var constant = (X87Constant)constantValue;
        BigInteger one = BigInteger.One << Scale;
        BigInteger pi = (16 * ArctanInverse(5, false)) - (4 * ArctanInverse(239, false));
        BigInteger ln2 = 2 * ArctanInverse(3, true);
        BigInteger ln10 = (3 * ln2) + (2 * ArctanInverse(9, true)); // ln 10 = 3 ln 2 + ln(5/4), ln(5/4) = 2 atanh(1/9)
        BigInteger value = constant switch
        {
            X87Constant.Pi => pi,
            X87Constant.Log2Ten => (ln10 << Scale) / ln2,
            X87Constant.Log2E => (one << Scale) / ln2,
            X87Constant.Log10Two => (ln2 << Scale) / ln10,
            _ => ln2,
        };

        // Truncate to 64 significant bits: the Down/Zero result; Up is one more unit; Nearest looks at the next bit.
        int length = (int)value.GetBitLength();
        int drop = length - 64;
        var truncated = (ulong)(value >> drop);
        bool half = !((value >> (drop - 1)) & 1).IsZero;
        int biased = length - 1 - Scale + 16383;
        Assert.Equal(new Float80(false, biased, truncated), X87Math.LoadConstant(constant, X87RoundingControl.Down));
        Assert.Equal(new Float80(false, biased, truncated), X87Math.LoadConstant(constant, X87RoundingControl.Zero));
        Assert.Equal(new Float80(false, biased, truncated + 1), X87Math.LoadConstant(constant, X87RoundingControl.Up));
        Assert.Equal(new Float80(false, biased, half ? truncated + 1 : truncated), X87Math.LoadConstant(constant, X87RoundingControl.Nearest));
    }
}
