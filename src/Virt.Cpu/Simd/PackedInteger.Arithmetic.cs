using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace Virt.Cpu.Simd;

internal static partial class PackedInteger
{
    /// <summary>PADDB.</summary>
    public static void Paddb(Span<byte> d, ReadOnlySpan<byte> s) => Lanewise<byte, AddOp>(d, s);

    /// <summary>PADDW.</summary>
    public static void Paddw(Span<byte> d, ReadOnlySpan<byte> s) => Lanewise<ushort, AddOp>(d, s);

    /// <summary>PADDD.</summary>
    public static void Paddd(Span<byte> d, ReadOnlySpan<byte> s) => Lanewise<uint, AddOp>(d, s);

    /// <summary>PADDQ.</summary>
    public static void Paddq(Span<byte> d, ReadOnlySpan<byte> s) => Lanewise<ulong, AddOp>(d, s);

    /// <summary>PSUBB.</summary>
    public static void Psubb(Span<byte> d, ReadOnlySpan<byte> s) => Lanewise<byte, SubOp>(d, s);

    /// <summary>PSUBW.</summary>
    public static void Psubw(Span<byte> d, ReadOnlySpan<byte> s) => Lanewise<ushort, SubOp>(d, s);

    /// <summary>PSUBD.</summary>
    public static void Psubd(Span<byte> d, ReadOnlySpan<byte> s) => Lanewise<uint, SubOp>(d, s);

    /// <summary>PSUBQ.</summary>
    public static void Psubq(Span<byte> d, ReadOnlySpan<byte> s) => Lanewise<ulong, SubOp>(d, s);

    /// <summary>PADDSB.</summary>
    public static void Paddsb(Span<byte> d, ReadOnlySpan<byte> s) => Lanewise<sbyte, AddSaturateOp>(d, s);

    /// <summary>PADDSW.</summary>
    public static void Paddsw(Span<byte> d, ReadOnlySpan<byte> s) => Lanewise<short, AddSaturateOp>(d, s);

    /// <summary>PADDUSB.</summary>
    public static void Paddusb(Span<byte> d, ReadOnlySpan<byte> s) => Lanewise<byte, AddSaturateOp>(d, s);

    /// <summary>PADDUSW.</summary>
    public static void Paddusw(Span<byte> d, ReadOnlySpan<byte> s) => Lanewise<ushort, AddSaturateOp>(d, s);

    /// <summary>PSUBSB.</summary>
    public static void Psubsb(Span<byte> d, ReadOnlySpan<byte> s) => Lanewise<sbyte, SubSaturateOp>(d, s);

    /// <summary>PSUBSW.</summary>
    public static void Psubsw(Span<byte> d, ReadOnlySpan<byte> s) => Lanewise<short, SubSaturateOp>(d, s);

    /// <summary>PSUBUSB.</summary>
    public static void Psubusb(Span<byte> d, ReadOnlySpan<byte> s) => Lanewise<byte, SubSaturateOp>(d, s);

    /// <summary>PSUBUSW.</summary>
    public static void Psubusw(Span<byte> d, ReadOnlySpan<byte> s) => Lanewise<ushort, SubSaturateOp>(d, s);

    /// <summary>PAVGB.</summary>
    public static void Pavgb(Span<byte> d, ReadOnlySpan<byte> s) => Lanewise<byte, AverageOp>(d, s);

    /// <summary>PAVGW.</summary>
    public static void Pavgw(Span<byte> d, ReadOnlySpan<byte> s) => Lanewise<ushort, AverageOp>(d, s);

    /// <summary>PMAXSB.</summary>
    public static void Pmaxsb(Span<byte> d, ReadOnlySpan<byte> s) => Lanewise<sbyte, MaxOp>(d, s);

    /// <summary>PMAXSW.</summary>
    public static void Pmaxsw(Span<byte> d, ReadOnlySpan<byte> s) => Lanewise<short, MaxOp>(d, s);

    /// <summary>PMAXSD.</summary>
    public static void Pmaxsd(Span<byte> d, ReadOnlySpan<byte> s) => Lanewise<int, MaxOp>(d, s);

    /// <summary>PMAXUB.</summary>
    public static void Pmaxub(Span<byte> d, ReadOnlySpan<byte> s) => Lanewise<byte, MaxOp>(d, s);

    /// <summary>PMAXUW.</summary>
    public static void Pmaxuw(Span<byte> d, ReadOnlySpan<byte> s) => Lanewise<ushort, MaxOp>(d, s);

    /// <summary>PMAXUD.</summary>
    public static void Pmaxud(Span<byte> d, ReadOnlySpan<byte> s) => Lanewise<uint, MaxOp>(d, s);

    /// <summary>PMINSB.</summary>
    public static void Pminsb(Span<byte> d, ReadOnlySpan<byte> s) => Lanewise<sbyte, MinOp>(d, s);

    /// <summary>PMINSW.</summary>
    public static void Pminsw(Span<byte> d, ReadOnlySpan<byte> s) => Lanewise<short, MinOp>(d, s);

    /// <summary>PMINSD.</summary>
    public static void Pminsd(Span<byte> d, ReadOnlySpan<byte> s) => Lanewise<int, MinOp>(d, s);

    /// <summary>PMINUB.</summary>
    public static void Pminub(Span<byte> d, ReadOnlySpan<byte> s) => Lanewise<byte, MinOp>(d, s);

    /// <summary>PMINUW.</summary>
    public static void Pminuw(Span<byte> d, ReadOnlySpan<byte> s) => Lanewise<ushort, MinOp>(d, s);

    /// <summary>PMINUD.</summary>
    public static void Pminud(Span<byte> d, ReadOnlySpan<byte> s) => Lanewise<uint, MinOp>(d, s);

    /// <summary>PCMPEQB.</summary>
    public static void Pcmpeqb(Span<byte> d, ReadOnlySpan<byte> s) => Lanewise<byte, CompareEqualOp>(d, s);

    /// <summary>PCMPEQW.</summary>
    public static void Pcmpeqw(Span<byte> d, ReadOnlySpan<byte> s) => Lanewise<ushort, CompareEqualOp>(d, s);

    /// <summary>PCMPEQD.</summary>
    public static void Pcmpeqd(Span<byte> d, ReadOnlySpan<byte> s) => Lanewise<uint, CompareEqualOp>(d, s);

    /// <summary>PCMPEQQ.</summary>
    public static void Pcmpeqq(Span<byte> d, ReadOnlySpan<byte> s) => Lanewise<ulong, CompareEqualOp>(d, s);

    /// <summary>PCMPGTB.</summary>
    public static void Pcmpgtb(Span<byte> d, ReadOnlySpan<byte> s) => Lanewise<sbyte, CompareGreaterOp>(d, s);

    /// <summary>PCMPGTW.</summary>
    public static void Pcmpgtw(Span<byte> d, ReadOnlySpan<byte> s) => Lanewise<short, CompareGreaterOp>(d, s);

    /// <summary>PCMPGTD.</summary>
    public static void Pcmpgtd(Span<byte> d, ReadOnlySpan<byte> s) => Lanewise<int, CompareGreaterOp>(d, s);

    /// <summary>PCMPGTQ.</summary>
    public static void Pcmpgtq(Span<byte> d, ReadOnlySpan<byte> s) => Lanewise<long, CompareGreaterOp>(d, s);

    /// <summary>PAND.</summary>
    public static void Pand(Span<byte> d, ReadOnlySpan<byte> s) => Lanewise<ulong, AndOp>(d, s);

    /// <summary>PANDN: <c>d = ~d &amp; s</c>.</summary>
    public static void Pandn(Span<byte> d, ReadOnlySpan<byte> s) => Lanewise<ulong, AndNotOp>(d, s);

    /// <summary>POR.</summary>
    public static void Por(Span<byte> d, ReadOnlySpan<byte> s) => Lanewise<ulong, OrOp>(d, s);

    /// <summary>PXOR.</summary>
    public static void Pxor(Span<byte> d, ReadOnlySpan<byte> s) => Lanewise<ulong, XorOp>(d, s);

    /// <summary>PMULLW.</summary>
    public static void Pmullw(Span<byte> d, ReadOnlySpan<byte> s) => Lanewise<short, MultiplyLowOp>(d, s);

    /// <summary>PMULLD.</summary>
    public static void Pmulld(Span<byte> d, ReadOnlySpan<byte> s) => Lanewise<int, MultiplyLowOp>(d, s);

    /// <summary>PMULHW.</summary>
    public static void Pmulhw(Span<byte> d, ReadOnlySpan<byte> s) => Lanewise<short, MultiplyHighOp>(d, s);

    /// <summary>PMULHUW.</summary>
    public static void Pmulhuw(Span<byte> d, ReadOnlySpan<byte> s) => Lanewise<ushort, MultiplyHighOp>(d, s);

    /// <summary>PMULHRSW.</summary>
    public static void Pmulhrsw(Span<byte> d, ReadOnlySpan<byte> s) => Lanewise<short, MultiplyHighRoundScaleOp>(d, s);

    /// <summary>PSIGNB.</summary>
    public static void Psignb(Span<byte> d, ReadOnlySpan<byte> s) => Lanewise<sbyte, SignOp>(d, s);

    /// <summary>PSIGNW.</summary>
    public static void Psignw(Span<byte> d, ReadOnlySpan<byte> s) => Lanewise<short, SignOp>(d, s);

    /// <summary>PSIGND.</summary>
    public static void Psignd(Span<byte> d, ReadOnlySpan<byte> s) => Lanewise<int, SignOp>(d, s);

    /// <summary>PABSB: <c>d = |s|</c>.</summary>
    public static void Pabsb(Span<byte> d, ReadOnlySpan<byte> s) => Lanewise<sbyte, AbsoluteOp>(d, s);

    /// <summary>PABSW: <c>d = |s|</c>.</summary>
    public static void Pabsw(Span<byte> d, ReadOnlySpan<byte> s) => Lanewise<short, AbsoluteOp>(d, s);

    /// <summary>PABSD: <c>d = |s|</c>.</summary>
    public static void Pabsd(Span<byte> d, ReadOnlySpan<byte> s) => Lanewise<int, AbsoluteOp>(d, s);

    /// <summary>PMULUDQ: the low unsigned doubleword of each quadword, multiplied to a quadword.</summary>
    public static void Pmuludq(Span<byte> d, ReadOnlySpan<byte> s)
    {
        Span<ulong> dq = MemoryMarshal.Cast<byte, ulong>(d);
        ReadOnlySpan<ulong> sq = MemoryMarshal.Cast<byte, ulong>(s);
        for (int i = 0; i < dq.Length; i++)
        {
            dq[i] = (ulong)(uint)dq[i] * (uint)sq[i];
        }
    }

    /// <summary>PMULDQ: the low signed doubleword of each quadword, multiplied to a quadword.</summary>
    public static void Pmuldq(Span<byte> d, ReadOnlySpan<byte> s)
    {
        Span<long> dq = MemoryMarshal.Cast<byte, long>(d);
        ReadOnlySpan<long> sq = MemoryMarshal.Cast<byte, long>(s);
        for (int i = 0; i < dq.Length; i++)
        {
            dq[i] = (long)(int)dq[i] * (int)sq[i];
        }
    }

    /// <summary>
    /// PMADDWD: signed word products summed in pairs to doublewords. The one overflowing case,
    /// all four words 8000h, wraps to 80000000h (SDM Vol. 2B, PMADDWD).
    /// </summary>
    public static void Pmaddwd(Span<byte> d, ReadOnlySpan<byte> s)
    {
        Span<short> dw = MemoryMarshal.Cast<byte, short>(d);
        ReadOnlySpan<short> sw = MemoryMarshal.Cast<byte, short>(s);
        Span<int> dd = MemoryMarshal.Cast<byte, int>(d);
        for (int i = 0; i < dd.Length; i++)
        {
            int sum = unchecked((dw[2 * i] * sw[2 * i]) + (dw[(2 * i) + 1] * sw[(2 * i) + 1]));
            dd[i] = sum;
        }
    }

    /// <summary>PMADDUBSW: unsigned destination bytes times signed source bytes, adjacent pairs summed with signed saturation.</summary>
    public static void Pmaddubsw(Span<byte> d, ReadOnlySpan<byte> s)
    {
        Span<short> dw = MemoryMarshal.Cast<byte, short>(d);
        for (int i = 0; i < dw.Length; i++)
        {
            int lo = d[2 * i] * (sbyte)s[2 * i];
            int hi = d[(2 * i) + 1] * (sbyte)s[(2 * i) + 1];
            dw[i] = SaturateToInt16(lo + hi);
        }
    }

    /// <summary>PSADBW: the sum of absolute byte differences of each 8-byte group, in the group's low word; the rest zero.</summary>
    public static void Psadbw(Span<byte> d, ReadOnlySpan<byte> s)
    {
        for (int g = 0; g < d.Length; g += 8)
        {
            int sum = 0;
            for (int i = g; i < g + 8; i++)
            {
                sum += Math.Abs(d[i] - s[i]);
            }

            BinaryPrimitives.WriteUInt64LittleEndian(d[g..], (ulong)sum);
        }
    }

    /// <summary>PHADDW: pairwise word sums, the destination's pairs then the source's.</summary>
    public static void Phaddw(Span<byte> d, ReadOnlySpan<byte> s) => Horizontal16(d, s, subtract: false, saturate: false);

    /// <summary>PHADDSW: pairwise word sums with signed saturation.</summary>
    public static void Phaddsw(Span<byte> d, ReadOnlySpan<byte> s) => Horizontal16(d, s, subtract: false, saturate: true);

    /// <summary>PHSUBW: pairwise word differences (even minus odd).</summary>
    public static void Phsubw(Span<byte> d, ReadOnlySpan<byte> s) => Horizontal16(d, s, subtract: true, saturate: false);

    /// <summary>PHSUBSW: pairwise word differences with signed saturation.</summary>
    public static void Phsubsw(Span<byte> d, ReadOnlySpan<byte> s) => Horizontal16(d, s, subtract: true, saturate: true);

    /// <summary>PHADDD: pairwise doubleword sums.</summary>
    public static void Phaddd(Span<byte> d, ReadOnlySpan<byte> s) => Horizontal32(d, s, subtract: false);

    /// <summary>PHSUBD: pairwise doubleword differences.</summary>
    public static void Phsubd(Span<byte> d, ReadOnlySpan<byte> s) => Horizontal32(d, s, subtract: true);

    private static void Horizontal16(Span<byte> d, ReadOnlySpan<byte> s, bool subtract, bool saturate)
    {
        Span<byte> a = stackalloc byte[d.Length];
        d.CopyTo(a);
        ReadOnlySpan<short> aw = MemoryMarshal.Cast<byte, short>(a);
        ReadOnlySpan<short> bw = MemoryMarshal.Cast<byte, short>(s);
        Span<short> dw = MemoryMarshal.Cast<byte, short>(d);
        int half = dw.Length / 2;
        for (int i = 0; i < dw.Length; i++)
        {
            ReadOnlySpan<short> from = i < half ? aw : bw;
            int k = 2 * (i % half);
            int v = subtract ? from[k] - from[k + 1] : from[k] + from[k + 1];
            dw[i] = saturate ? SaturateToInt16(v) : (short)v;
        }
    }

    private static void Horizontal32(Span<byte> d, ReadOnlySpan<byte> s, bool subtract)
    {
        Span<byte> a = stackalloc byte[d.Length];
        d.CopyTo(a);
        ReadOnlySpan<int> ad = MemoryMarshal.Cast<byte, int>(a);
        ReadOnlySpan<int> bd = MemoryMarshal.Cast<byte, int>(s);
        Span<int> dd = MemoryMarshal.Cast<byte, int>(d);
        int half = dd.Length / 2;
        for (int i = 0; i < dd.Length; i++)
        {
            ReadOnlySpan<int> from = i < half ? ad : bd;
            int k = 2 * (i % half);
            dd[i] = subtract ? unchecked(from[k] - from[k + 1]) : unchecked(from[k] + from[k + 1]);
        }
    }

    /// <summary>
    /// PHMINPOSUW: the smallest unsigned word and its index (the lowest index on ties) in the low two
    /// words of the destination; the rest zero.
    /// </summary>
    public static void Phminposuw(Span<byte> d, ReadOnlySpan<byte> s)
    {
        ReadOnlySpan<ushort> sw = MemoryMarshal.Cast<byte, ushort>(s);
        int index = 0;
        for (int i = 1; i < sw.Length; i++)
        {
            if (sw[i] < sw[index])
            {
                index = i;
            }
        }

        ushort min = sw[index];
        d.Clear();
        BinaryPrimitives.WriteUInt16LittleEndian(d, min);
        BinaryPrimitives.WriteUInt16LittleEndian(d[2..], (ushort)index);
    }

    /// <summary>
    /// MPSADBW: eight sums of absolute differences between 4-byte groups of the destination, starting at
    /// byte 4 * imm[2] + i, and the source group imm[1:0] (SDM Vol. 2B, MPSADBW).
    /// </summary>
    public static void Mpsadbw(Span<byte> d, ReadOnlySpan<byte> s, byte imm)
    {
        Span<byte> a = stackalloc byte[16];
        d.CopyTo(a);
        int aOffset = ((imm >> 2) & 1) * 4;
        int bOffset = (imm & 3) * 4;
        Span<ushort> dw = MemoryMarshal.Cast<byte, ushort>(d);
        for (int i = 0; i < 8; i++)
        {
            int sum = 0;
            for (int k = 0; k < 4; k++)
            {
                sum += Math.Abs(a[aOffset + i + k] - s[bOffset + k]);
            }

            dw[i] = (ushort)sum;
        }
    }
}
