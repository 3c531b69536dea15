using FsCheck;
using FsCheck.Xunit;
using Virt.Cpu.X87;
using Xunit;

namespace Virt.Cpu.Tests.X87;

/// <summary>
/// Add, subtract, multiply, divide and square root against <see cref="ReferenceArithmetic"/> in every
/// rounding mode and precision control setting, all exceptions masked: the result bits, the flags
/// (DE, UE, OE, PE) and C1 must match exactly.
/// </summary>
public sealed class ArithmeticPropertyTests
{
    private static readonly X87PrecisionControl[] s_precisions = [X87PrecisionControl.Single, X87PrecisionControl.Double, X87PrecisionControl.Extended];
    private static readonly X87RoundingControl[] s_roundings = [X87RoundingControl.Nearest, X87RoundingControl.Down, X87RoundingControl.Up, X87RoundingControl.Zero];

    private delegate Float80 Operation(in Float80 a, in Float80 b, ref X87Context ctx);

    private static void CheckAllModes(Float80 a, Float80 b, Operation op, Func<Float80, Float80, int, X87RoundingControl, ReferenceArithmetic.Outcome> reference)
    {
        X87Exceptions denormal = a.BiasedExponent == 0 || b.BiasedExponent == 0 ? X87Exceptions.Denormal : X87Exceptions.None;
        foreach (X87PrecisionControl pc in s_precisions)
        {
            foreach (X87RoundingControl rc in s_roundings)
            {
                var ctx = X87Context.Masked(pc, rc);
                Float80 actual = op(a, b, ref ctx);
                ReferenceArithmetic.Outcome expected = reference(a, b, ctx.PrecisionBits, rc);
                string where = $"a={a} b={b} pc={pc} rc={rc}";
                Assert.True(expected.Value == actual, $"{where}: expected {expected.Value}, got {actual}");
                Assert.True(expected.Flags == (ctx.Flags & ~X87Exceptions.Denormal), $"{where}: flags expected {expected.Flags}, got {ctx.Flags}");
                Assert.True(denormal == (ctx.Flags & X87Exceptions.Denormal), $"{where}: DE");
                Assert.True(expected.RoundedUp == ctx.RoundedUp, $"{where}: C1 expected {expected.RoundedUp}");
            }
        }
    }

    [Property(MaxTest = 400)]
    public void Add_matches_reference(ulong sa, ushort ea, byte pa, bool na, ulong sb, ushort eb, byte pb, bool nb)
    {
        Float80 a = X87Operands.Finite(sa, ea, pa, na);
        Float80 b = X87Operands.Finite(sb, eb, pb, nb, a.BiasedExponent);
        CheckAllModes(a, b, X87Math.Add, (x, y, p, rc) => ReferenceArithmetic.Add(x, y, subtract: false, p, rc));
    }

    [Property(MaxTest = 400)]
    public void Subtract_matches_reference(ulong sa, ushort ea, byte pa, bool na, ulong sb, ushort eb, byte pb, bool nb)
    {
        Float80 a = X87Operands.Finite(sa, ea, pa, na);
        Float80 b = X87Operands.Finite(sb, eb, pb, nb, a.BiasedExponent);
        CheckAllModes(a, b, X87Math.Subtract, (x, y, p, rc) => ReferenceArithmetic.Add(x, y, subtract: true, p, rc));
    }

    [Property(MaxTest = 400)]
    public void Multiply_matches_reference(ulong sa, ushort ea, byte pa, bool na, ulong sb, ushort eb, byte pb, bool nb)
    {
        Float80 a = X87Operands.Finite(sa, ea, pa, na);
        Float80 b = X87Operands.Finite(sb, eb, pb, nb, 0x7FFE - a.BiasedExponent);
        CheckAllModes(a, b, X87Math.Multiply, ReferenceArithmetic.Multiply);
    }

    [Property(MaxTest = 400)]
    public void Divide_matches_reference(ulong sa, ushort ea, byte pa, bool na, ulong sb, ushort eb, byte pb, bool nb)
    {
        Float80 a = X87Operands.Finite(sa, ea, pa, na);
        Float80 b = X87Operands.Finite(sb, eb, pb, nb, a.BiasedExponent);
        CheckAllModes(a, b, X87Math.Divide, ReferenceArithmetic.Divide);
    }

    [Property(MaxTest = 400)]
    public void SquareRoot_matches_reference(ulong sa, ushort ea, byte pa)
    {
        Float80 a = X87Operands.Finite(sa, ea, pa, negative: false);
        CheckAllModes(a, a, (in Float80 x, in Float80 _, ref X87Context ctx) => X87Math.SquareRoot(x, ref ctx), (x, _, p, rc) => ReferenceArithmetic.SquareRoot(x, p, rc));
    }

    /// <summary>
    /// With #O and #U unmasked, a register result that overflows or underflows is the exact result rounded
    /// with its exponent moved by 24576 (Intel SDM Vol. 1, 8.5.4/8.5.5): the reference rounds the exact
    /// value times 2^-24576 (or 2^24576), which lands in range.
    /// </summary>
    [Property(MaxTest = 400)]
    public void Unmasked_overflow_and_underflow_wrap_the_exponent(ulong sa, ushort ea, byte pa, bool na, ulong sb, ushort eb, byte pb, bool nb, bool divide)
    {
        Float80 a = X87Operands.Finite(sa, ea, pa, na);
        // Pair a large with a large (or a small with a small) so that many results leave the range.
        Float80 b = X87Operands.Finite(sb, eb, pb, nb, divide ? 0x7FFE - a.BiasedExponent : a.BiasedExponent);
        foreach (X87PrecisionControl pc in s_precisions)
        {
            foreach (X87RoundingControl rc in s_roundings)
            {
                var ctx = new X87Context(pc, rc, X87Exceptions.All & ~(X87Exceptions.Overflow | X87Exceptions.Underflow));
                Float80 actual = divide ? X87Math.Divide(a, b, ref ctx) : X87Math.Multiply(a, b, ref ctx);
                bool overflow = (ctx.Flags & X87Exceptions.Overflow) != 0;
                bool underflow = (ctx.Flags & X87Exceptions.Underflow) != 0;
                if (!overflow && !underflow)
                {
                    continue;
                }

                Assert.False(ctx.SuppressWrite);
                (System.Numerics.BigInteger ma, int xa) = ReferenceArithmetic.Exact(a);
                (System.Numerics.BigInteger mb, int xb) = ReferenceArithmetic.Exact(b);
                int wrap = overflow ? -24576 : 24576;
                bool negative = a.IsNegative ^ b.IsNegative;
                ReferenceArithmetic.Outcome expected = divide
                    ? ReferenceArithmetic.Round(negative, k => ReferenceArithmetic.Rational(ma, mb)(k + xa - xb + wrap), 200 - xa + xb - wrap, ctx.PrecisionBits, rc)
                    : ReferenceArithmetic.Round(negative, k => ReferenceArithmetic.Rational(ma * mb, 1)(k + xa + xb + wrap), 200 - xa - xb - wrap, ctx.PrecisionBits, rc);
                string where = $"a={a} b={b} pc={pc} rc={rc} divide={divide}";
                Assert.True(expected.Value == actual, $"{where}: expected {expected.Value}, got {actual}");
                Assert.Equal(expected.RoundedUp, ctx.RoundedUp);
                Assert.Equal((expected.Flags & X87Exceptions.Precision) != 0, (ctx.Flags & X87Exceptions.Precision) != 0);
            }
        }
    }
}
