using System.Numerics;
using FsCheck.Xunit;
using Virt.Cpu.X87;
using Xunit;

namespace Virt.Cpu.Tests.X87;

/// <summary>FRNDINT, FSCALE and compares against the BigInteger reference.</summary>
public sealed class OperationPropertyTests
{
    private static readonly X87RoundingControl[] s_roundings = [X87RoundingControl.Nearest, X87RoundingControl.Down, X87RoundingControl.Up, X87RoundingControl.Zero];

    [Property(MaxTest = 500)]
    public void Frndint_matches_reference(ulong raw, ushort exponentRaw, byte pattern, bool negative)
    {
        // Exponents from well below 1 to beyond 2^63, where every value is already integral.
        int exponent = (exponentRaw % 90) - 10;
        var x = new Float80(negative, exponent + 16383, X87Operands.Significand(raw, pattern) | (1UL << 63));
        (BigInteger s, int e) = ReferenceArithmetic.Exact(x);
        foreach (X87RoundingControl rc in s_roundings)
        {
            var ctx = X87Context.Masked(X87PrecisionControl.Single, rc);
            Float80 actual = X87Math.RoundToIntegral(x, ref ctx);

            // Reference: round |x| to an integer, then back to an exact extended value.
            ReferenceArithmetic.Scaled value = ReferenceArithmetic.Rational(s, 1);
            (BigInteger twice, bool exact) = value(e + 1);
            BigInteger n = twice >> 1;
            bool half = !twice.IsEven;
            bool inexact = half || !exact;
            bool up = inexact && rc switch
            {
                X87RoundingControl.Nearest => half && (!exact || !n.IsEven),
                X87RoundingControl.Down => negative,
                X87RoundingControl.Up => !negative,
                _ => false,
            };
            if (up)
            {
                n += 1;
            }

            Float80 expected = n.IsZero
                ? new Float80(negative, 0, 0)
                : ReferenceArithmetic.Round(negative, ReferenceArithmetic.Rational(n, 1), 0, 64, rc).Value;
            Assert.True(expected == actual, $"x={x} rc={rc}: expected {expected} got {actual}");
            Assert.Equal(inexact ? X87Exceptions.Precision : X87Exceptions.None, ctx.Flags);
            Assert.Equal(up, ctx.RoundedUp);
        }
    }

    [Property(MaxTest = 500)]
    public void Fscale_matches_reference(ulong raw, ushort exponentRaw, byte pattern, bool negative, short scaleRaw)
    {
        Float80 x = X87Operands.Finite(raw, exponentRaw, pattern, negative);
        int scale = scaleRaw % 17000;
        X87Exceptions denormal = x.BiasedExponent == 0 ? X87Exceptions.Denormal : X87Exceptions.None;
        (BigInteger s, int e) = ReferenceArithmetic.Exact(x);
        foreach (X87RoundingControl rc in s_roundings)
        {
            var ctx = X87Context.Masked(X87PrecisionControl.Single, rc);
            Float80 actual = X87Math.Scale(x, X87Math.FromInt64(scale), ref ctx);
            ReferenceArithmetic.Outcome expected = ReferenceArithmetic.Round(negative, k => ReferenceArithmetic.Rational(s, 1)(k + e + scale), 70 - (int)s.GetBitLength() - e - scale, 64, rc);
            Assert.True(expected.Value == actual, $"x={x} scale={scale} rc={rc}: expected {expected.Value} got {actual}");
            Assert.Equal(expected.Flags | denormal, ctx.Flags);
        }
    }

    [Property(MaxTest = 500)]
    public void Compare_matches_reference_order(ulong sa, ushort ea, byte pa, bool na, ulong sb, ushort eb, byte pb, bool nb)
    {
        Float80 a = X87Operands.Finite(sa, ea, pa, na);
        Float80 b = X87Operands.Finite(sb, eb, pb, nb, a.BiasedExponent);
        (BigInteger ma, int xa) = ReferenceArithmetic.Exact(a);
        (BigInteger mb, int xb) = ReferenceArithmetic.Exact(b);
        int lsb = Math.Min(xa, xb);
        BigInteger va = (na ? -ma : ma) << (xa - lsb);
        BigInteger vb = (nb ? -mb : mb) << (xb - lsb);
        X87CompareResult expected = va < vb ? X87CompareResult.Less : va > vb ? X87CompareResult.Greater : X87CompareResult.Equal;
        X87Context ctx = X87Context.Masked();
        Assert.Equal(expected, X87Math.Compare(a, b, quiet: false, ref ctx));
        Assert.Equal(expected, X87Math.Compare(a, a, quiet: true, ref ctx) == X87CompareResult.Equal ? expected : X87CompareResult.Unordered);
    }
}
