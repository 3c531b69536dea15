using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using FsCheck.Xunit;
using Virt.Cpu.Simd;
using Xunit;

namespace Virt.Cpu.Tests.Simd;

/// <summary>
/// The soft-float core (src/Virt.Cpu/Simd) two ways: in round-to-nearest with default MXCSR against the host CPU's own SSE
/// (System.Runtime.Intrinsics.X86, when the host has it), bit for bit including NaN results; in every rounding mode with
/// FTZ, DAZ and the underflow mask, results and the six flags against <see cref="ExactFloatReference"/>.
/// </summary>
public sealed class SseFloatTests
{
    private const uint DefaultMxcsr = 0x1F80;
    private const uint Ftz = 1u << 15;
    private const uint Daz = 1u << 6;
    private const uint Um = 1u << 11;

    private static Vector128<float> V32(uint bits) => Vector128.CreateScalar(bits).AsSingle();

    private static Vector128<double> V64(ulong bits) => Vector128.CreateScalar(bits).AsDouble();

    private static uint Bits(Vector128<float> v) => v.AsUInt32().ToScalar();

    private static ulong Bits(Vector128<double> v) => v.AsUInt64().ToScalar();

    private static uint Soft32(int op, uint a, uint b, uint mxcsr, ref uint flags) => (uint)(op switch
    {
        0 => SseFloat<SseBinary32>.Add(a, b, mxcsr, ref flags),
        1 => SseFloat<SseBinary32>.Sub(a, b, mxcsr, ref flags),
        2 => SseFloat<SseBinary32>.Mul(a, b, mxcsr, ref flags),
        3 => SseFloat<SseBinary32>.Div(a, b, mxcsr, ref flags),
        4 => SseFloat<SseBinary32>.Sqrt(b, mxcsr, ref flags),
        5 => SseFloat<SseBinary32>.Min(a, b, mxcsr, ref flags),
        _ => SseFloat<SseBinary32>.Max(a, b, mxcsr, ref flags),
    });

    private static ulong Soft64(int op, ulong a, ulong b, uint mxcsr, ref uint flags) => op switch
    {
        0 => SseFloat<SseBinary64>.Add(a, b, mxcsr, ref flags),
        1 => SseFloat<SseBinary64>.Sub(a, b, mxcsr, ref flags),
        2 => SseFloat<SseBinary64>.Mul(a, b, mxcsr, ref flags),
        3 => SseFloat<SseBinary64>.Div(a, b, mxcsr, ref flags),
        4 => SseFloat<SseBinary64>.Sqrt(b, mxcsr, ref flags),
        5 => SseFloat<SseBinary64>.Min(a, b, mxcsr, ref flags),
        _ => SseFloat<SseBinary64>.Max(a, b, mxcsr, ref flags),
    };

    [Property(MaxTest = 3000)]
    public void Single_arithmetic_equals_the_host_sse(byte op, ulong ra, ulong rb, byte kind)
    {
        if (!Sse.IsSupported)
        {
            return;
        }

        uint a = FloatSamples.Single(ra, kind);
        uint b = FloatSamples.SecondSingle(a, rb, kind);
        int operation = op % 7;
        uint host = operation switch
        {
            0 => Bits(Sse.AddScalar(V32(a), V32(b))),
            1 => Bits(Sse.SubtractScalar(V32(a), V32(b))),
            2 => Bits(Sse.MultiplyScalar(V32(a), V32(b))),
            3 => Bits(Sse.DivideScalar(V32(a), V32(b))),
            4 => Bits(Sse.SqrtScalar(V32(b))),
            5 => Bits(Sse.MinScalar(V32(a), V32(b))),
            _ => Bits(Sse.MaxScalar(V32(a), V32(b))),
        };
        uint flags = 0;
        Assert.Equal(host.ToString("X8"), Soft32(operation, a, b, DefaultMxcsr, ref flags).ToString("X8"));
    }

    [Property(MaxTest = 3000)]
    public void Double_arithmetic_equals_the_host_sse2(byte op, ulong ra, ulong rb, byte kind)
    {
        if (!Sse2.IsSupported)
        {
            return;
        }

        ulong a = FloatSamples.Double(ra, kind);
        ulong b = FloatSamples.SecondDouble(a, rb, kind);
        int operation = op % 7;
        ulong host = operation switch
        {
            0 => Bits(Sse2.AddScalar(V64(a), V64(b))),
            1 => Bits(Sse2.SubtractScalar(V64(a), V64(b))),
            2 => Bits(Sse2.MultiplyScalar(V64(a), V64(b))),
            3 => Bits(Sse2.DivideScalar(V64(a), V64(b))),
            4 => Bits(Sse2.SqrtScalar(V64(b))),
            5 => Bits(Sse2.MinScalar(V64(a), V64(b))),
            _ => Bits(Sse2.MaxScalar(V64(a), V64(b))),
        };
        uint flags = 0;
        Assert.Equal(host.ToString("X16"), Soft64(operation, a, b, DefaultMxcsr, ref flags).ToString("X16"));
    }

    [Property(MaxTest = 2000)]
    public void Conversions_equal_the_host(ulong ra, byte kind, int integer, long wide)
    {
        if (!Sse2.IsSupported)
        {
            return;
        }

        uint s = FloatSamples.Single(ra, kind);
        ulong d = FloatSamples.Double(ra, kind);
        uint flags = 0;
        Assert.Equal((uint)Sse.ConvertToInt32(V32(s)), (uint)SseFloat<SseBinary32>.ToInteger(s, 32, false, DefaultMxcsr, ref flags));
        Assert.Equal((uint)Sse.ConvertToInt32WithTruncation(V32(s)), (uint)SseFloat<SseBinary32>.ToInteger(s, 32, true, DefaultMxcsr, ref flags));
        Assert.Equal((uint)Sse2.ConvertToInt32(V64(d)), (uint)SseFloat<SseBinary64>.ToInteger(d, 32, false, DefaultMxcsr, ref flags));
        Assert.Equal((uint)Sse2.ConvertToInt32WithTruncation(V64(d)), (uint)SseFloat<SseBinary64>.ToInteger(d, 32, true, DefaultMxcsr, ref flags));
        Assert.Equal(Bits(Sse.ConvertScalarToVector128Single(V32(0), integer)), (uint)SseFloat<SseBinary32>.FromInteger(integer, DefaultMxcsr, ref flags));
        Assert.Equal(Bits(Sse2.ConvertScalarToVector128Double(V64(0), integer)), SseFloat<SseBinary64>.FromInteger(integer, DefaultMxcsr, ref flags));
        Assert.Equal(Bits(Sse2.ConvertScalarToVector128Double(V64(0), V32(s))), SseFloat<SseBinary64>.ConvertFrom<SseBinary32>(s, DefaultMxcsr, ref flags));
        Assert.Equal(Bits(Sse2.ConvertScalarToVector128Single(V32(0), V64(d))), (uint)SseFloat<SseBinary32>.ConvertFrom<SseBinary64>(d, DefaultMxcsr, ref flags));
        if (Sse2.X64.IsSupported)
        {
            Assert.Equal((ulong)Sse.X64.ConvertToInt64(V32(s)), SseFloat<SseBinary32>.ToInteger(s, 64, false, DefaultMxcsr, ref flags));
            Assert.Equal((ulong)Sse2.X64.ConvertToInt64WithTruncation(V64(d)), SseFloat<SseBinary64>.ToInteger(d, 64, true, DefaultMxcsr, ref flags));
            Assert.Equal(Bits(Sse.X64.ConvertScalarToVector128Single(V32(0), wide)), (uint)SseFloat<SseBinary32>.FromInteger(wide, DefaultMxcsr, ref flags));
            Assert.Equal(Bits(Sse2.X64.ConvertScalarToVector128Double(V64(0), wide)), SseFloat<SseBinary64>.FromInteger(wide, DefaultMxcsr, ref flags));
        }
    }

    [Property(MaxTest = 2000)]
    public void Compares_and_rounding_equal_the_host(ulong ra, ulong rb, byte kind)
    {
        if (!Sse41.IsSupported)
        {
            return;
        }

        uint a = FloatSamples.Single(ra, kind);
        uint b = FloatSamples.SecondSingle(a, rb, kind);
        Func<Vector128<float>, Vector128<float>, Vector128<float>>[] predicates =
        [
            Sse.CompareScalarEqual, Sse.CompareScalarLessThan, Sse.CompareScalarLessThanOrEqual, Sse.CompareScalarUnordered,
            Sse.CompareScalarNotEqual, Sse.CompareScalarNotLessThan, Sse.CompareScalarNotLessThanOrEqual, Sse.CompareScalarOrdered,
        ];
        uint flags = 0;
        for (int p = 0; p < 8; p++)
        {
            bool host = Bits(predicates[p](V32(a), V32(b))) != 0;
            Assert.Equal(host, SseFloat<SseBinary32>.Compare(a, b, p, DefaultMxcsr, ref flags));
        }

        ulong d = FloatSamples.Double(ra, kind);
        Assert.Equal(Bits(Sse41.RoundToNearestIntegerScalar(V32(a))), (uint)SseFloat<SseBinary32>.RoundToIntegral(a, SseRounding.Nearest, false, DefaultMxcsr, ref flags));
        Assert.Equal(Bits(Sse41.RoundToNegativeInfinityScalar(V32(a))), (uint)SseFloat<SseBinary32>.RoundToIntegral(a, SseRounding.Down, false, DefaultMxcsr, ref flags));
        Assert.Equal(Bits(Sse41.RoundToPositiveInfinityScalar(V64(d))), SseFloat<SseBinary64>.RoundToIntegral(d, SseRounding.Up, false, DefaultMxcsr, ref flags));
        Assert.Equal(Bits(Sse41.RoundToZeroScalar(V64(d))), SseFloat<SseBinary64>.RoundToIntegral(d, SseRounding.TowardZero, false, DefaultMxcsr, ref flags));
    }

    /// <summary>Builds MXCSR from a random byte: rounding mode, FTZ, DAZ, and (one time in four) underflow unmasked.</summary>
    private static (uint Mxcsr, ExactFloatReference.Control Control) Mode(byte control)
    {
        int mode = control & 3;
        bool ftz = (control & 4) != 0;
        bool daz = (control & 8) != 0;
        bool underflowMasked = (control & 0x30) != 0x30;
        uint mxcsr = (DefaultMxcsr & ~Um) | ((uint)mode << 13) | (ftz ? Ftz : 0) | (daz ? Daz : 0) | (underflowMasked ? Um : 0);
        return (mxcsr, new ExactFloatReference.Control(mode, ftz, daz, underflowMasked));
    }

    [Property(MaxTest = 1500)]
    public void Single_arithmetic_and_flags_match_the_exact_reference_in_every_mode(byte op, ulong ra, ulong rb, byte kind, byte control)
    {
        uint a = FloatSamples.Single(ra, kind);
        uint b = FloatSamples.SecondSingle(a, rb, kind);
        a = FloatSamples.IsFinite32(a) ? a : a & 0xBFFF_FFFF;
        b = FloatSamples.IsFinite32(b) ? b : b & 0xBFFF_FFFF;
        (uint mxcsr, ExactFloatReference.Control c) = Mode(control);
        ExactFloatReference reference = ExactFloatReference.Single;
        int operation = op % 5;
        (ulong expected, uint expectedFlags) = operation switch
        {
            0 => reference.Add(a, b, c),
            1 => reference.Add(a, b, c, subtract: true),
            2 => reference.Multiply(a, b, c),
            3 => reference.Divide(a, b, c),
            _ => reference.SquareRoot(b, c),
        };
        uint flags = 0;
        uint actual = Soft32(operation, a, b, mxcsr, ref flags);
        Assert.Equal($"{expected:X8} {expectedFlags:X2}", $"{actual:X8} {flags:X2}");
    }

    [Property(MaxTest = 1500)]
    public void Double_arithmetic_and_flags_match_the_exact_reference_in_every_mode(byte op, ulong ra, ulong rb, byte kind, byte control)
    {
        ulong a = FloatSamples.Double(ra, kind);
        ulong b = FloatSamples.SecondDouble(a, rb, kind);
        a = FloatSamples.IsFinite64(a) ? a : a & 0xBFFF_FFFF_FFFF_FFFF;
        b = FloatSamples.IsFinite64(b) ? b : b & 0xBFFF_FFFF_FFFF_FFFF;
        (uint mxcsr, ExactFloatReference.Control c) = Mode(control);
        ExactFloatReference reference = ExactFloatReference.Double;
        int operation = op % 5;
        (ulong expected, uint expectedFlags) = operation switch
        {
            0 => reference.Add(a, b, c),
            1 => reference.Add(a, b, c, subtract: true),
            2 => reference.Multiply(a, b, c),
            3 => reference.Divide(a, b, c),
            _ => reference.SquareRoot(b, c),
        };
        uint flags = 0;
        ulong actual = Soft64(operation, a, b, mxcsr, ref flags);
        Assert.Equal($"{expected:X16} {expectedFlags:X2}", $"{actual:X16} {flags:X2}");
    }

    [Property(MaxTest = 1000)]
    public void Integer_conversions_match_the_exact_reference_in_every_mode(ulong ra, byte kind, byte control, long integer, bool truncate, bool wide)
    {
        (uint mxcsr, ExactFloatReference.Control c) = Mode(control);
        int width = wide ? 64 : 32;
        uint s = FloatSamples.Single(ra, kind);
        s = FloatSamples.IsFinite32(s) ? s : s & 0xBFFF_FFFF;
        ulong d = FloatSamples.Double(ra, kind);
        d = FloatSamples.IsFinite64(d) ? d : d & 0xBFFF_FFFF_FFFF_FFFF;

        uint flags = 0;
        ulong actual = SseFloat<SseBinary32>.ToInteger(s, width, truncate, mxcsr, ref flags);
        Assert.Equal(ExactFloatReference.Single.ToInteger(s, width, truncate, c), (actual, flags));

        flags = 0;
        actual = SseFloat<SseBinary64>.ToInteger(d, width, truncate, mxcsr, ref flags);
        Assert.Equal(ExactFloatReference.Double.ToInteger(d, width, truncate, c), (actual, flags));

        flags = 0;
        actual = SseFloat<SseBinary32>.FromInteger(integer, mxcsr, ref flags);
        Assert.Equal(ExactFloatReference.Single.FromInteger(integer, c), (actual, flags));

        flags = 0;
        actual = SseFloat<SseBinary64>.FromInteger(integer, mxcsr, ref flags);
        Assert.Equal(ExactFloatReference.Double.FromInteger(integer, c), (actual, flags));
    }

    /// <summary>
    /// Fixed cases for the rules the reference leaves out (NaNs, infinities, the pre-computation priorities), each with the
    /// SDM's reason: operands and result as binary32 bit patterns, flags in MXCSR positions (IE 1, DE 2, ZE 4, OE 8, UE 16, PE 32).
    /// </summary>
    [Theory]
    [InlineData(0, 0x7FA00000u, 0x7FC00001u, 0x7FE00000u, 1u)] // SNaN first: quieted first operand, IE (Vol. 1, Table 4-7)
    [InlineData(0, 0x7FC00001u, 0x7FA00000u, 0x7FC00001u, 1u)] // QNaN first, SNaN second: the first operand, IE
    [InlineData(0, 0x3F800000u, 0xFFA00000u, 0xFFE00000u, 1u)] // number and SNaN: the SNaN quieted, its sign kept
    [InlineData(1, 0x7F800000u, 0x7F800000u, 0xFFC00000u, 1u)] // inf - inf: the default NaN (sign set)
    [InlineData(2, 0x00000000u, 0xFF800000u, 0xFFC00000u, 1u)] // 0 * inf: default NaN
    [InlineData(3, 0x00000001u, 0x00000000u, 0x7F800000u, 4u)] // denormal / 0: ZE only, ZE outranks DE (Vol. 1, 4.9.2)
    [InlineData(3, 0x80000000u, 0x00000000u, 0xFFC00000u, 1u)] // -0 / 0: invalid
    [InlineData(0, 0x7FC00000u, 0x00000001u, 0x7FC00000u, 0u)] // a QNaN operand suppresses DE
    [InlineData(0, 0x7F800000u, 0x00000001u, 0x7F800000u, 2u)] // inf + denormal: DE
    [InlineData(5, 0x7FC00000u, 0x3F800000u, 0x3F800000u, 1u)] // MINSS with a QNaN: the second operand, IE (Vol. 2B, MINSS)
    [InlineData(6, 0x80000000u, 0x00000000u, 0x00000000u, 0u)] // MAXSS of two zeros: the second operand
    [InlineData(5, 0x00000000u, 0x80000000u, 0x80000000u, 0u)] // MINSS of two zeros: the second operand
    [InlineData(4, 0u, 0xBF800000u, 0xFFC00000u, 1u)] // sqrt(-1): default NaN
    [InlineData(4, 0u, 0x80000000u, 0x80000000u, 0u)] // sqrt(-0) = -0
    [InlineData(4, 0u, 0xFFA00000u, 0xFFE00000u, 1u)] // sqrt(SNaN): quieted, IE
    public void Nan_infinity_and_priority_rules(int op, uint a, uint b, uint expected, uint expectedFlags)
    {
        uint flags = 0;
        uint actual = Soft32(op, a, b, DefaultMxcsr, ref flags);
        Assert.Equal($"{expected:X8} {expectedFlags:X2}", $"{actual:X8} {flags:X2}");
    }

    [Fact]
    public void Daz_reads_denormals_as_zeros_without_de_and_ftz_flushes_tiny_results()
    {
        uint flags = 0;

        // DAZ: 1 + denormal = 1 exactly, no DE, no PE (Vol. 1, 10.2.3.4).
        Assert.Equal(0x3F800000UL, SseFloat<SseBinary32>.Add(0x3F800000, 0x00000001, DefaultMxcsr | Daz, ref flags));
        Assert.Equal(0u, flags);

        // FTZ: the smallest normal halved underflows to +0 with UE and PE (Vol. 1, 10.2.3.3); without FTZ it is the exact
        // denormal 0x00400000 and, being exact, sets no flag.
        Assert.Equal(0UL, SseFloat<SseBinary32>.Mul(0x00800000, 0x3F000000, DefaultMxcsr | Ftz, ref flags));
        Assert.Equal(0x30u, flags);
        flags = 0;
        Assert.Equal(0x00400000UL, SseFloat<SseBinary32>.Mul(0x00800000, 0x3F000000, DefaultMxcsr, ref flags));
        Assert.Equal(0u, flags);
    }

    [Fact]
    public void Conversions_give_the_integer_indefinite_value_and_quiet_nans()
    {
        uint flags = 0;
        Assert.Equal(0x8000_0000UL, SseFloat<SseBinary32>.ToInteger(0x4F000000, 32, false, DefaultMxcsr, ref flags)); // 2^31 is out of range
        Assert.Equal(1u, flags);
        flags = 0;
        Assert.Equal(0x8000_0000UL, SseFloat<SseBinary32>.ToInteger(0xCF000000, 32, false, DefaultMxcsr, ref flags)); // -2^31 is in range
        Assert.Equal(0u, flags);
        Assert.Equal(0x8000_0000_0000_0000UL, SseFloat<SseBinary64>.ToInteger(0x7FF8_0000_0000_0000, 64, true, DefaultMxcsr, ref flags));
        Assert.Equal(1u, flags);

        // CVTSD2SS keeps a NaN's sign and the top of its payload, quieted; an SNaN signals IE.
        flags = 0;
        Assert.Equal(0xFFE0_0000UL, SseFloat<SseBinary32>.ConvertFrom<SseBinary64>(0xFFF4_0000_0000_0000, DefaultMxcsr, ref flags));
        Assert.Equal(1u, flags);
    }

    [Fact]
    public void Reciprocal_estimates_are_within_the_architectural_error_and_flush_denormals()
    {
        // Intel SDM Vol. 2B, RCPPS: |relative error| <= 1.5 * 2^-12.
        foreach (float x in new[] { 1f, 3f, 0.1f, 12345.678f, 1e-30f, 7e37f })
        {
            float r = BitConverter.UInt32BitsToSingle((uint)SseFloat<SseBinary32>.ReciprocalEstimate(BitConverter.SingleToUInt32Bits(x), squareRoot: false));
            Assert.True(Math.Abs((r * (double)x) - 1) <= 1.5 / 4096, $"rcp({x}) = {r}");
            float q = BitConverter.UInt32BitsToSingle((uint)SseFloat<SseBinary32>.ReciprocalEstimate(BitConverter.SingleToUInt32Bits(x), squareRoot: true));
            Assert.True(Math.Abs((q * Math.Sqrt(x)) - 1) <= 1.5 / 4096, $"rsqrt({x}) = {q}");
        }

        Assert.Equal(0x7F80_0000UL, SseFloat<SseBinary32>.ReciprocalEstimate(0x0000_0001, squareRoot: false)); // denormal read as +0
        Assert.Equal(0x8000_0000UL, SseFloat<SseBinary32>.ReciprocalEstimate(0xFF7F_FFFF, squareRoot: false)); // tiny result flushed
        Assert.Equal(0xFFC0_0000UL, SseFloat<SseBinary32>.ReciprocalEstimate(0xBF80_0000, squareRoot: true));
    }
}
