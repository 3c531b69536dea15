// The immediates are random on purpose (every imm8 is checked); the JIT dispatches a non-constant one through a jump table.
#pragma warning disable CA1857

using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using FsCheck.Xunit;
using Virt.Cpu.Simd;
using Xunit;

namespace Virt.Cpu.Tests.Simd;

/// <summary>
/// Every packed-integer operation against the host CPU's own instruction through
/// <c>System.Runtime.Intrinsics.X86</c>, bit-exact, on full-range random registers in which a random
/// choice of bytes of the source is copied from the destination (so equal lanes, ties and zero
/// differences occur). The MMX (8-byte) forms are checked against the 128-bit instruction on
/// operands arranged so that the 64-bit result can be read off it.
/// </summary>
public sealed class PackedIntegerTests
{
    private delegate void BinaryOp(Span<byte> d, ReadOnlySpan<byte> s);

    private delegate void ImmediateOp(Span<byte> d, ReadOnlySpan<byte> s, byte imm);

    /// <summary>An operation, the host's instruction, and whether its MMX form is the low half of the 128-bit one.</summary>
    private sealed record BinaryCase(string Name, BinaryOp Ours, Func<Vector128<byte>, Vector128<byte>, Vector128<byte>> Host, bool MmxIsLowHalf);

    private static readonly BinaryCase[] s_binary = BuildBinaryCases();

    private static BinaryCase[] BuildBinaryCases()
    {
        var cases = new List<BinaryCase>();
        if (Sse2.IsSupported)
        {
            cases.AddRange(
            [
                new("PADDB", PackedInteger.Paddb, (a, b) => Sse2.Add(a, b), true),
                new("PADDW", PackedInteger.Paddw, (a, b) => Sse2.Add(a.AsUInt16(), b.AsUInt16()).AsByte(), true),
                new("PADDD", PackedInteger.Paddd, (a, b) => Sse2.Add(a.AsUInt32(), b.AsUInt32()).AsByte(), true),
                new("PADDQ", PackedInteger.Paddq, (a, b) => Sse2.Add(a.AsUInt64(), b.AsUInt64()).AsByte(), true),
                new("PSUBB", PackedInteger.Psubb, (a, b) => Sse2.Subtract(a, b), true),
                new("PSUBW", PackedInteger.Psubw, (a, b) => Sse2.Subtract(a.AsUInt16(), b.AsUInt16()).AsByte(), true),
                new("PSUBD", PackedInteger.Psubd, (a, b) => Sse2.Subtract(a.AsUInt32(), b.AsUInt32()).AsByte(), true),
                new("PSUBQ", PackedInteger.Psubq, (a, b) => Sse2.Subtract(a.AsUInt64(), b.AsUInt64()).AsByte(), true),
                new("PADDSB", PackedInteger.Paddsb, (a, b) => Sse2.AddSaturate(a.AsSByte(), b.AsSByte()).AsByte(), true),
                new("PADDSW", PackedInteger.Paddsw, (a, b) => Sse2.AddSaturate(a.AsInt16(), b.AsInt16()).AsByte(), true),
                new("PADDUSB", PackedInteger.Paddusb, (a, b) => Sse2.AddSaturate(a, b), true),
                new("PADDUSW", PackedInteger.Paddusw, (a, b) => Sse2.AddSaturate(a.AsUInt16(), b.AsUInt16()).AsByte(), true),
                new("PSUBSB", PackedInteger.Psubsb, (a, b) => Sse2.SubtractSaturate(a.AsSByte(), b.AsSByte()).AsByte(), true),
                new("PSUBSW", PackedInteger.Psubsw, (a, b) => Sse2.SubtractSaturate(a.AsInt16(), b.AsInt16()).AsByte(), true),
                new("PSUBUSB", PackedInteger.Psubusb, (a, b) => Sse2.SubtractSaturate(a, b), true),
                new("PSUBUSW", PackedInteger.Psubusw, (a, b) => Sse2.SubtractSaturate(a.AsUInt16(), b.AsUInt16()).AsByte(), true),
                new("PAVGB", PackedInteger.Pavgb, (a, b) => Sse2.Average(a, b), true),
                new("PAVGW", PackedInteger.Pavgw, (a, b) => Sse2.Average(a.AsUInt16(), b.AsUInt16()).AsByte(), true),
                new("PMAXSW", PackedInteger.Pmaxsw, (a, b) => Sse2.Max(a.AsInt16(), b.AsInt16()).AsByte(), true),
                new("PMAXUB", PackedInteger.Pmaxub, (a, b) => Sse2.Max(a, b), true),
                new("PMINSW", PackedInteger.Pminsw, (a, b) => Sse2.Min(a.AsInt16(), b.AsInt16()).AsByte(), true),
                new("PMINUB", PackedInteger.Pminub, (a, b) => Sse2.Min(a, b), true),
                new("PCMPEQB", PackedInteger.Pcmpeqb, (a, b) => Sse2.CompareEqual(a, b), true),
                new("PCMPEQW", PackedInteger.Pcmpeqw, (a, b) => Sse2.CompareEqual(a.AsUInt16(), b.AsUInt16()).AsByte(), true),
                new("PCMPEQD", PackedInteger.Pcmpeqd, (a, b) => Sse2.CompareEqual(a.AsUInt32(), b.AsUInt32()).AsByte(), true),
                new("PCMPGTB", PackedInteger.Pcmpgtb, (a, b) => Sse2.CompareGreaterThan(a.AsSByte(), b.AsSByte()).AsByte(), true),
                new("PCMPGTW", PackedInteger.Pcmpgtw, (a, b) => Sse2.CompareGreaterThan(a.AsInt16(), b.AsInt16()).AsByte(), true),
                new("PCMPGTD", PackedInteger.Pcmpgtd, (a, b) => Sse2.CompareGreaterThan(a.AsInt32(), b.AsInt32()).AsByte(), true),
                new("PAND", PackedInteger.Pand, (a, b) => Sse2.And(a, b), true),
                new("PANDN", PackedInteger.Pandn, (a, b) => Sse2.AndNot(a, b), true),
                new("POR", PackedInteger.Por, (a, b) => Sse2.Or(a, b), true),
                new("PXOR", PackedInteger.Pxor, (a, b) => Sse2.Xor(a, b), true),
                new("PMULLW", PackedInteger.Pmullw, (a, b) => Sse2.MultiplyLow(a.AsInt16(), b.AsInt16()).AsByte(), true),
                new("PMULHW", PackedInteger.Pmulhw, (a, b) => Sse2.MultiplyHigh(a.AsInt16(), b.AsInt16()).AsByte(), true),
                new("PMULHUW", PackedInteger.Pmulhuw, (a, b) => Sse2.MultiplyHigh(a.AsUInt16(), b.AsUInt16()).AsByte(), true),
                new("PMULUDQ", PackedInteger.Pmuludq, (a, b) => Sse2.Multiply(a.AsUInt32(), b.AsUInt32()).AsByte(), true),
                new("PMADDWD", PackedInteger.Pmaddwd, (a, b) => Sse2.MultiplyAddAdjacent(a.AsInt16(), b.AsInt16()).AsByte(), true),
                new("PSADBW", PackedInteger.Psadbw, (a, b) => Sse2.SumAbsoluteDifferences(a, b).AsByte(), true),
                new("PACKSSWB", PackedInteger.Packsswb, (a, b) => Sse2.PackSignedSaturate(a.AsInt16(), b.AsInt16()).AsByte(), false),
                new("PACKSSDW", PackedInteger.Packssdw, (a, b) => Sse2.PackSignedSaturate(a.AsInt32(), b.AsInt32()).AsByte(), false),
                new("PACKUSWB", PackedInteger.Packuswb, (a, b) => Sse2.PackUnsignedSaturate(a.AsInt16(), b.AsInt16()), false),
                new("PUNPCKLBW", PackedInteger.Punpcklbw, (a, b) => Sse2.UnpackLow(a, b), true),
                new("PUNPCKLWD", PackedInteger.Punpcklwd, (a, b) => Sse2.UnpackLow(a.AsUInt16(), b.AsUInt16()).AsByte(), true),
                new("PUNPCKLDQ", PackedInteger.Punpckldq, (a, b) => Sse2.UnpackLow(a.AsUInt32(), b.AsUInt32()).AsByte(), true),
                new("PUNPCKLQDQ", PackedInteger.Punpcklqdq, (a, b) => Sse2.UnpackLow(a.AsUInt64(), b.AsUInt64()).AsByte(), false),
                new("PUNPCKHBW", PackedInteger.Punpckhbw, (a, b) => Sse2.UnpackHigh(a, b), false),
                new("PUNPCKHWD", PackedInteger.Punpckhwd, (a, b) => Sse2.UnpackHigh(a.AsUInt16(), b.AsUInt16()).AsByte(), false),
                new("PUNPCKHDQ", PackedInteger.Punpckhdq, (a, b) => Sse2.UnpackHigh(a.AsUInt32(), b.AsUInt32()).AsByte(), false),
                new("PUNPCKHQDQ", PackedInteger.Punpckhqdq, (a, b) => Sse2.UnpackHigh(a.AsUInt64(), b.AsUInt64()).AsByte(), false),
            ]);
        }

        if (Ssse3.IsSupported)
        {
            cases.AddRange(
            [
                new("PSHUFB", PackedInteger.Pshufb, (a, b) => Ssse3.Shuffle(a, b), false),
                new("PHADDW", PackedInteger.Phaddw, (a, b) => Ssse3.HorizontalAdd(a.AsInt16(), b.AsInt16()).AsByte(), false),
                new("PHADDD", PackedInteger.Phaddd, (a, b) => Ssse3.HorizontalAdd(a.AsInt32(), b.AsInt32()).AsByte(), false),
                new("PHADDSW", PackedInteger.Phaddsw, (a, b) => Ssse3.HorizontalAddSaturate(a.AsInt16(), b.AsInt16()).AsByte(), false),
                new("PHSUBW", PackedInteger.Phsubw, (a, b) => Ssse3.HorizontalSubtract(a.AsInt16(), b.AsInt16()).AsByte(), false),
                new("PHSUBD", PackedInteger.Phsubd, (a, b) => Ssse3.HorizontalSubtract(a.AsInt32(), b.AsInt32()).AsByte(), false),
                new("PHSUBSW", PackedInteger.Phsubsw, (a, b) => Ssse3.HorizontalSubtractSaturate(a.AsInt16(), b.AsInt16()).AsByte(), false),
                new("PMADDUBSW", PackedInteger.Pmaddubsw, (a, b) => Ssse3.MultiplyAddAdjacent(a, b.AsSByte()).AsByte(), true),
                new("PMULHRSW", PackedInteger.Pmulhrsw, (a, b) => Ssse3.MultiplyHighRoundScale(a.AsInt16(), b.AsInt16()).AsByte(), true),
                new("PSIGNB", PackedInteger.Psignb, (a, b) => Ssse3.Sign(a.AsSByte(), b.AsSByte()).AsByte(), true),
                new("PSIGNW", PackedInteger.Psignw, (a, b) => Ssse3.Sign(a.AsInt16(), b.AsInt16()).AsByte(), true),
                new("PSIGND", PackedInteger.Psignd, (a, b) => Ssse3.Sign(a.AsInt32(), b.AsInt32()).AsByte(), true),
                new("PABSB", PackedInteger.Pabsb, (a, b) => Ssse3.Abs(b.AsSByte()).AsByte(), true),
                new("PABSW", PackedInteger.Pabsw, (a, b) => Ssse3.Abs(b.AsInt16()).AsByte(), true),
                new("PABSD", PackedInteger.Pabsd, (a, b) => Ssse3.Abs(b.AsInt32()).AsByte(), true),
            ]);
        }

        if (Sse41.IsSupported)
        {
            cases.AddRange(
            [
                new("PMAXSB", PackedInteger.Pmaxsb, (a, b) => Sse41.Max(a.AsSByte(), b.AsSByte()).AsByte(), true),
                new("PMAXSD", PackedInteger.Pmaxsd, (a, b) => Sse41.Max(a.AsInt32(), b.AsInt32()).AsByte(), true),
                new("PMAXUW", PackedInteger.Pmaxuw, (a, b) => Sse41.Max(a.AsUInt16(), b.AsUInt16()).AsByte(), true),
                new("PMAXUD", PackedInteger.Pmaxud, (a, b) => Sse41.Max(a.AsUInt32(), b.AsUInt32()).AsByte(), true),
                new("PMINSB", PackedInteger.Pminsb, (a, b) => Sse41.Min(a.AsSByte(), b.AsSByte()).AsByte(), true),
                new("PMINSD", PackedInteger.Pminsd, (a, b) => Sse41.Min(a.AsInt32(), b.AsInt32()).AsByte(), true),
                new("PMINUW", PackedInteger.Pminuw, (a, b) => Sse41.Min(a.AsUInt16(), b.AsUInt16()).AsByte(), true),
                new("PMINUD", PackedInteger.Pminud, (a, b) => Sse41.Min(a.AsUInt32(), b.AsUInt32()).AsByte(), true),
                new("PMULLD", PackedInteger.Pmulld, (a, b) => Sse41.MultiplyLow(a.AsInt32(), b.AsInt32()).AsByte(), true),
                new("PMULDQ", PackedInteger.Pmuldq, (a, b) => Sse41.Multiply(a.AsInt32(), b.AsInt32()).AsByte(), true),
                new("PCMPEQQ", PackedInteger.Pcmpeqq, (a, b) => Sse41.CompareEqual(a.AsUInt64(), b.AsUInt64()).AsByte(), true),
                new("PACKUSDW", PackedInteger.Packusdw, (a, b) => Sse41.PackUnsignedSaturate(a.AsInt32(), b.AsInt32()).AsByte(), false),
                new("PHMINPOSUW", PackedInteger.Phminposuw, (a, b) => Sse41.MinHorizontal(b.AsUInt16()).AsByte(), false),
            ]);
        }

        if (Sse42.IsSupported)
        {
            cases.Add(new("PCMPGTQ", PackedInteger.Pcmpgtq, (a, b) => Sse42.CompareGreaterThan(a.AsInt64(), b.AsInt64()).AsByte(), true));
        }

        return [.. cases];
    }

    /// <summary>The source: <paramref name="b"/> with the bytes that <paramref name="copy"/> selects taken from <paramref name="a"/>.</summary>
    internal static Vector128<byte> Source(Vector128<byte> a, Vector128<byte> b, ushort copy)
    {
        Span<byte> bytes = stackalloc byte[16];
        for (int i = 0; i < 16; i++)
        {
            bytes[i] = ((copy >> i) & 1) != 0 ? a.GetElement(i) : b.GetElement(i);
        }

        return Vector128.Create((ReadOnlySpan<byte>)bytes);
    }

    internal static Vector128<byte> Vector(ulong low, ulong high) => Vector128.Create(low, high).AsByte();

    private static byte[] Run(BinaryOp op, Vector128<byte> a, Vector128<byte> b, int sizeInBytes)
    {
        byte[] d = new byte[16];
        byte[] s = new byte[16];
        a.CopyTo(d);
        b.CopyTo(s);
        op(d.AsSpan(0, sizeInBytes), s.AsSpan(0, sizeInBytes));
        return d[..sizeInBytes];
    }

    private static byte[] Run(ImmediateOp op, Vector128<byte> a, Vector128<byte> b, byte imm, int sizeInBytes = 16)
    {
        byte[] d = new byte[16];
        byte[] s = new byte[16];
        a.CopyTo(d);
        b.CopyTo(s);
        op(d.AsSpan(0, sizeInBytes), s.AsSpan(0, sizeInBytes), imm);
        return d[..sizeInBytes];
    }

    private static byte[] Bytes(Vector128<byte> v, int sizeInBytes = 16)
    {
        byte[] bytes = new byte[16];
        v.CopyTo(bytes);
        return bytes[..sizeInBytes];
    }

    private static ulong Low(Vector128<byte> v) => v.AsUInt64().GetElement(0);

    [Property(MaxTest = 300)]
    public void Xmm_binary_operations_match_the_host(ulong a0, ulong a1, ulong b0, ulong b1, ushort copy)
    {
        Vector128<byte> a = Vector(a0, a1);
        Vector128<byte> b = Source(a, Vector(b0, b1), copy);
        foreach (BinaryCase c in s_binary)
        {
            Assert.True(Bytes(c.Host(a, b)).AsSpan().SequenceEqual(Run(c.Ours, a, b, 16)), $"{c.Name} a={a} b={b}");
        }
    }

    [Property(MaxTest = 300)]
    public void Mmx_lanewise_operations_are_the_low_half(ulong a0, ulong b0, byte copy)
    {
        Vector128<byte> a = Vector(a0, 0);
        Vector128<byte> b = Source(a, Vector(b0, 0), copy);
        foreach (BinaryCase c in s_binary.Where(c => c.MmxIsLowHalf))
        {
            Assert.True(Bytes(c.Host(a, b), 8).AsSpan().SequenceEqual(Run(c.Ours, a, b, 8)), $"{c.Name} a={a0:X16} b={Low(b):X16}");
        }
    }

    /// <summary>
    /// The MMX forms whose lanes cross halves: each expected value is read off the 128-bit instruction
    /// on zero-extended operands (pack and horizontal ops put the source's results in the upper half).
    /// </summary>
    [Property(MaxTest = 300)]
    public void Mmx_cross_lane_operations_match_the_host(ulong a0, ulong b0, byte copy)
    {
        if (!Ssse3.IsSupported)
        {
            return;
        }

        Vector128<byte> a = Vector(a0, 0);
        Vector128<byte> b = Source(a, Vector(b0, 0), copy);
        Vector128<byte> packed = Sse2.PackSignedSaturate(a.AsInt16(), b.AsInt16()).AsByte();
        Check("PACKSSWB", PackedInteger.Packsswb, Combine(packed.AsUInt32().GetElement(0), packed.AsUInt32().GetElement(2)));
        packed = Sse2.PackUnsignedSaturate(a.AsInt16(), b.AsInt16());
        Check("PACKUSWB", PackedInteger.Packuswb, Combine(packed.AsUInt32().GetElement(0), packed.AsUInt32().GetElement(2)));
        packed = Sse2.PackSignedSaturate(a.AsInt32(), b.AsInt32()).AsByte();
        Check("PACKSSDW", PackedInteger.Packssdw, Combine(packed.AsUInt32().GetElement(0), packed.AsUInt32().GetElement(2)));
        Check("PUNPCKHBW", PackedInteger.Punpckhbw, Sse2.UnpackLow(a, b).AsUInt64().GetElement(1));
        Check("PUNPCKHWD", PackedInteger.Punpckhwd, Sse2.UnpackLow(a.AsUInt16(), b.AsUInt16()).AsUInt64().GetElement(1));
        Check("PUNPCKHDQ", PackedInteger.Punpckhdq, Sse2.UnpackLow(a.AsUInt32(), b.AsUInt32()).AsUInt64().GetElement(1));
        Vector128<byte> h = Ssse3.HorizontalAdd(a.AsInt16(), b.AsInt16()).AsByte();
        Check("PHADDW", PackedInteger.Phaddw, Combine(h.AsUInt32().GetElement(0), h.AsUInt32().GetElement(2)));
        h = Ssse3.HorizontalSubtractSaturate(a.AsInt16(), b.AsInt16()).AsByte();
        Check("PHSUBSW", PackedInteger.Phsubsw, Combine(h.AsUInt32().GetElement(0), h.AsUInt32().GetElement(2)));
        h = Ssse3.HorizontalSubtract(a.AsInt32(), b.AsInt32()).AsByte();
        Check("PHSUBD", PackedInteger.Phsubd, Combine(h.AsUInt32().GetElement(0), h.AsUInt32().GetElement(2)));

        // PSHUFB mm uses index bits 2:0; the 128-bit form over the register duplicated picks the same bytes.
        Vector128<byte> index = Sse2.And(b, Vector128.Create((byte)0x87));
        Check("PSHUFB", PackedInteger.Pshufb, Low(Ssse3.Shuffle(Vector(a0, a0), index)));

        void Check(string name, BinaryOp op, ulong expected)
        {
            ulong actual = BitConverter.ToUInt64(Run(op, a, b, 8));
            Assert.True(expected == actual, $"{name} a={a0:X16} b={Low(b):X16}: expected {expected:X16}, got {actual:X16}");
        }
    }

    private static ulong Combine(uint low, uint high) => ((ulong)high << 32) | low;

    [Property(MaxTest = 300)]
    public void Immediate_operations_match_the_host(ulong a0, ulong a1, ulong b0, ulong b1, ushort copy, byte imm)
    {
        if (!Sse41.IsSupported)
        {
            return;
        }

        Vector128<byte> a = Vector(a0, a1);
        Vector128<byte> b = Source(a, Vector(b0, b1), copy);
        Check("PSHUFD", PackedInteger.Pshufd, Sse2.Shuffle(b.AsUInt32(), imm).AsByte());
        Check("PSHUFLW", PackedInteger.Pshuflw, Sse2.ShuffleLow(b.AsUInt16(), imm).AsByte());
        Check("PSHUFHW", PackedInteger.Pshufhw, Sse2.ShuffleHigh(b.AsUInt16(), imm).AsByte());
        Check("PALIGNR", PackedInteger.Palignr, Ssse3.AlignRight(a, b, imm));
        Check("PBLENDW", PackedInteger.Pblendw, Sse41.Blend(a.AsUInt16(), b.AsUInt16(), imm).AsByte());
        Check("MPSADBW", PackedInteger.Mpsadbw, Sse41.MultipleSumAbsoluteDifferences(a, b, imm).AsByte());

        // PSHUFW mm and PALIGNR mm against the 128-bit forms on the low quadword.
        ulong pshufw = BitConverter.ToUInt64(Run(PackedInteger.Pshufw, a, b, imm, 8));
        Assert.Equal(Low(Sse2.ShuffleLow(b.AsUInt16(), imm).AsByte()), pshufw);
        ulong palignr = BitConverter.ToUInt64(Run(PackedInteger.Palignr, a, b, imm, 8));
        Assert.True(Low(Ssse3.AlignRight(Vector128<byte>.Zero, Vector(Low(b), a0), imm)) == palignr, $"PALIGNR mm imm={imm}");

        void Check(string name, ImmediateOp op, Vector128<byte> expected) =>
            Assert.True(Bytes(expected).AsSpan().SequenceEqual(Run(op, a, b, imm)), $"{name} imm={imm:X2} a={a} b={b}");
    }

    [Property(MaxTest = 300)]
    public void Shifts_match_the_host(ulong a0, ulong a1, byte smallCount, ulong anyCount, bool useAny)
    {
        if (!Sse2.IsSupported)
        {
            return;
        }

        Vector128<byte> a = Vector(a0, a1);
        ulong count = useAny ? anyCount : smallCount % 72u;
        Vector128<ulong> c = Vector128.CreateScalar(count);
        Check("PSLLW", PackedInteger.Psllw, Sse2.ShiftLeftLogical(a.AsUInt16(), c.AsUInt16()).AsByte());
        Check("PSLLD", PackedInteger.Pslld, Sse2.ShiftLeftLogical(a.AsUInt32(), c.AsUInt32()).AsByte());
        Check("PSLLQ", PackedInteger.Psllq, Sse2.ShiftLeftLogical(a.AsUInt64(), c).AsByte());
        Check("PSRLW", PackedInteger.Psrlw, Sse2.ShiftRightLogical(a.AsUInt16(), c.AsUInt16()).AsByte());
        Check("PSRLD", PackedInteger.Psrld, Sse2.ShiftRightLogical(a.AsUInt32(), c.AsUInt32()).AsByte());
        Check("PSRLQ", PackedInteger.Psrlq, Sse2.ShiftRightLogical(a.AsUInt64(), c).AsByte());
        Check("PSRAW", PackedInteger.Psraw, Sse2.ShiftRightArithmetic(a.AsInt16(), c.AsInt16()).AsByte());
        Check("PSRAD", PackedInteger.Psrad, Sse2.ShiftRightArithmetic(a.AsInt32(), c.AsInt32()).AsByte());

        byte bytes = smallCount;
        byte[] d = Bytes(a);
        PackedInteger.Pslldq(d, bytes);
        Assert.True(Bytes(Sse2.ShiftLeftLogical128BitLane(a, bytes)).AsSpan().SequenceEqual(d), $"PSLLDQ {bytes}");
        d = Bytes(a);
        PackedInteger.Psrldq(d, bytes);
        Assert.True(Bytes(Sse2.ShiftRightLogical128BitLane(a, bytes)).AsSpan().SequenceEqual(d), $"PSRLDQ {bytes}");

        void Check(string name, Action<Span<byte>, ulong> op, Vector128<byte> expected)
        {
            byte[] actual = Bytes(a);
            op(actual, count);
            Assert.True(Bytes(expected).AsSpan().SequenceEqual(actual), $"{name} count={count} a={a}");
        }
    }

    [Property(MaxTest = 300)]
    public void Extracts_inserts_masks_and_tests_match_the_host(ulong a0, ulong a1, ulong b0, ulong b1, ushort copy, byte imm, ulong value)
    {
        if (!Sse41.IsSupported || !Sse41.X64.IsSupported)
        {
            return;
        }

        Vector128<byte> a = Vector(a0, a1);
        Vector128<byte> b = Source(a, Vector(b0, b1), copy);
        byte[] ab = Bytes(a);
        Assert.Equal((uint)Sse2.MoveMask(a), PackedInteger.Pmovmskb(ab));
        Assert.Equal(Sse41.Extract(a, imm), (byte)PackedInteger.Extract(ab, 1, imm));
        Assert.Equal(Sse2.Extract(a.AsUInt16(), imm), (ushort)PackedInteger.Extract(ab, 2, imm));
        Assert.Equal(Sse41.Extract(a.AsUInt32(), imm), (uint)PackedInteger.Extract(ab, 4, imm));
        Assert.Equal(Sse41.X64.Extract(a.AsUInt64(), imm), PackedInteger.Extract(ab, 8, imm));

        CheckInsert(Sse41.Insert(a, (byte)value, imm), 1);
        CheckInsert(Sse2.Insert(a.AsUInt16(), (ushort)value, imm).AsByte(), 2);
        CheckInsert(Sse41.Insert(a.AsUInt32(), (uint)value, imm).AsByte(), 4);
        CheckInsert(Sse41.X64.Insert(a.AsUInt64(), value, imm).AsByte(), 8);

        (bool zero, bool carry) = PackedInteger.Ptest(ab, Bytes(b));
        Assert.Equal(Sse41.TestZ(a, b), zero);
        Assert.Equal(Sse41.TestC(a, b), carry);

        byte[] blend = Bytes(a);
        PackedInteger.Pblendvb(blend, Bytes(b), Bytes(Vector(value, ~value)));
        Assert.Equal(Bytes(Sse41.BlendVariable(a, b, Vector(value, ~value))), blend);

        void CheckInsert(Vector128<byte> expected, int laneBytes)
        {
            byte[] actual = Bytes(a);
            PackedInteger.Insert(actual, laneBytes, value, imm);
            Assert.True(Bytes(expected).AsSpan().SequenceEqual(actual), $"PINSR lane {laneBytes} imm={imm}");
        }
    }

    [Property(MaxTest = 200)]
    public void Sign_and_zero_extensions_match_the_host(ulong a0, ulong a1)
    {
        if (!Sse41.IsSupported)
        {
            return;
        }

        Vector128<byte> a = Vector(a0, a1);
        Check(1, 2, true, Sse41.ConvertToVector128Int16(a.AsSByte()).AsByte());
        Check(1, 4, true, Sse41.ConvertToVector128Int32(a.AsSByte()).AsByte());
        Check(1, 8, true, Sse41.ConvertToVector128Int64(a.AsSByte()).AsByte());
        Check(2, 4, true, Sse41.ConvertToVector128Int32(a.AsInt16()).AsByte());
        Check(2, 8, true, Sse41.ConvertToVector128Int64(a.AsInt16()).AsByte());
        Check(4, 8, true, Sse41.ConvertToVector128Int64(a.AsInt32()).AsByte());
        Check(1, 2, false, Sse41.ConvertToVector128Int16(a).AsByte());
        Check(1, 4, false, Sse41.ConvertToVector128Int32(a).AsByte());
        Check(1, 8, false, Sse41.ConvertToVector128Int64(a).AsByte());
        Check(2, 4, false, Sse41.ConvertToVector128Int32(a.AsUInt16()).AsByte());
        Check(2, 8, false, Sse41.ConvertToVector128Int64(a.AsUInt16()).AsByte());
        Check(4, 8, false, Sse41.ConvertToVector128Int64(a.AsUInt32()).AsByte());

        void Check(int from, int to, bool signed, Vector128<byte> expected)
        {
            byte[] actual = new byte[16];
            PackedInteger.Extend(actual, Bytes(a), from, to, signed);
            Assert.True(Bytes(expected).AsSpan().SequenceEqual(actual), $"PMOV{(signed ? "SX" : "ZX")} {from}->{to} a={a}");
        }
    }

    [Property(MaxTest = 300)]
    public void Crc32_matches_the_host(uint crc, ulong data)
    {
        if (!Sse42.X64.IsSupported)
        {
            return;
        }

        Assert.Equal(Sse42.Crc32(crc, (byte)data), Crc32C.Accumulate(crc, data, 1));
        Assert.Equal(Sse42.Crc32(crc, (ushort)data), Crc32C.Accumulate(crc, data, 2));
        Assert.Equal(Sse42.Crc32(crc, (uint)data), Crc32C.Accumulate(crc, data, 4));
        Assert.Equal((uint)Sse42.X64.Crc32(crc, data), Crc32C.Accumulate(crc, data, 8));
    }

    [Fact]
    public void Every_binary_case_has_a_distinct_name()
    {
        // Guards the table itself: a copy-paste slip that tests one operation twice would hide another.
        Assert.Equal(s_binary.Length, s_binary.Select(c => c.Name).Distinct().Count());
        Assert.Equal(s_binary.Length, s_binary.Select(c => c.Ours).Distinct().Count());
        _ = MemoryMarshal.AsBytes<byte>([]);
    }
}
