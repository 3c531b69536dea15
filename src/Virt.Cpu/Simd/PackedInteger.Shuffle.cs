using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace Virt.Cpu.Simd;

internal static partial class PackedInteger
{
    /// <summary>PACKSSWB: words of the destination then the source, to signed-saturated bytes.</summary>
    public static void Packsswb(Span<byte> d, ReadOnlySpan<byte> s) => Pack16(d, s, signed: true);

    /// <summary>PACKUSWB: signed words to unsigned-saturated bytes.</summary>
    public static void Packuswb(Span<byte> d, ReadOnlySpan<byte> s) => Pack16(d, s, signed: false);

    /// <summary>PACKSSDW: doublewords to signed-saturated words.</summary>
    public static void Packssdw(Span<byte> d, ReadOnlySpan<byte> s) => Pack32(d, s, signed: true);

    /// <summary>PACKUSDW: signed doublewords to unsigned-saturated words.</summary>
    public static void Packusdw(Span<byte> d, ReadOnlySpan<byte> s) => Pack32(d, s, signed: false);

    private static void Pack16(Span<byte> d, ReadOnlySpan<byte> s, bool signed)
    {
        Span<byte> a = stackalloc byte[d.Length];
        d.CopyTo(a);
        ReadOnlySpan<short> aw = MemoryMarshal.Cast<byte, short>(a);
        ReadOnlySpan<short> bw = MemoryMarshal.Cast<byte, short>(s);
        int half = d.Length / 2;
        for (int i = 0; i < d.Length; i++)
        {
            int v = i < half ? aw[i] : bw[i - half];
            d[i] = signed ? (byte)SaturateToSByte(v) : SaturateToByte(v);
        }
    }

    private static void Pack32(Span<byte> d, ReadOnlySpan<byte> s, bool signed)
    {
        Span<byte> a = stackalloc byte[d.Length];
        d.CopyTo(a);
        ReadOnlySpan<int> ad = MemoryMarshal.Cast<byte, int>(a);
        ReadOnlySpan<int> bd = MemoryMarshal.Cast<byte, int>(s);
        Span<ushort> dw = MemoryMarshal.Cast<byte, ushort>(d);
        int half = dw.Length / 2;
        for (int i = 0; i < dw.Length; i++)
        {
            int v = i < half ? ad[i] : bd[i - half];
            dw[i] = signed ? (ushort)SaturateToInt16(v) : SaturateToUInt16(v);
        }
    }

    /// <summary>PUNPCKLBW.</summary>
    public static void Punpcklbw(Span<byte> d, ReadOnlySpan<byte> s) => Unpack(d, s, 1, high: false);

    /// <summary>PUNPCKLWD.</summary>
    public static void Punpcklwd(Span<byte> d, ReadOnlySpan<byte> s) => Unpack(d, s, 2, high: false);

    /// <summary>PUNPCKLDQ.</summary>
    public static void Punpckldq(Span<byte> d, ReadOnlySpan<byte> s) => Unpack(d, s, 4, high: false);

    /// <summary>PUNPCKLQDQ.</summary>
    public static void Punpcklqdq(Span<byte> d, ReadOnlySpan<byte> s) => Unpack(d, s, 8, high: false);

    /// <summary>PUNPCKHBW.</summary>
    public static void Punpckhbw(Span<byte> d, ReadOnlySpan<byte> s) => Unpack(d, s, 1, high: true);

    /// <summary>PUNPCKHWD.</summary>
    public static void Punpckhwd(Span<byte> d, ReadOnlySpan<byte> s) => Unpack(d, s, 2, high: true);

    /// <summary>PUNPCKHDQ.</summary>
    public static void Punpckhdq(Span<byte> d, ReadOnlySpan<byte> s) => Unpack(d, s, 4, high: true);

    /// <summary>PUNPCKHQDQ.</summary>
    public static void Punpckhqdq(Span<byte> d, ReadOnlySpan<byte> s) => Unpack(d, s, 8, high: true);

    /// <summary>Interleaves the low (or high) halves of destination and source, lanes of <paramref name="laneBytes"/> bytes.</summary>
    private static void Unpack(Span<byte> d, ReadOnlySpan<byte> s, int laneBytes, bool high)
    {
        Span<byte> a = stackalloc byte[d.Length];
        d.CopyTo(a);
        int start = high ? d.Length / 2 : 0;
        int lanes = d.Length / 2 / laneBytes;
        for (int i = 0; i < lanes; i++)
        {
            int from = start + (i * laneBytes);
            a.Slice(from, laneBytes).CopyTo(d.Slice(2 * i * laneBytes, laneBytes));
            s.Slice(from, laneBytes).CopyTo(d.Slice(((2 * i) + 1) * laneBytes, laneBytes));
        }
    }

    /// <summary>PSHUFB: each destination byte takes the source-indexed byte of itself, or zero when the index's bit 7 is set.</summary>
    public static void Pshufb(Span<byte> d, ReadOnlySpan<byte> s)
    {
        Span<byte> a = stackalloc byte[d.Length];
        d.CopyTo(a);
        int indexMask = d.Length - 1;
        for (int i = 0; i < d.Length; i++)
        {
            d[i] = (s[i] & 0x80) != 0 ? (byte)0 : a[s[i] & indexMask];
        }
    }

    /// <summary>PSHUFD: doublewords of the source picked by the 2-bit fields of <paramref name="imm"/>.</summary>
    public static void Pshufd(Span<byte> d, ReadOnlySpan<byte> s, byte imm)
    {
        ReadOnlySpan<uint> sd = MemoryMarshal.Cast<byte, uint>(s);
        Span<uint> dd = MemoryMarshal.Cast<byte, uint>(d);
        for (int i = 0; i < 4; i++)
        {
            dd[i] = sd[(imm >> (2 * i)) & 3];
        }
    }

    /// <summary>PSHUFW (MMX) and the shuffled half of PSHUFLW/PSHUFHW: four words picked by <paramref name="imm"/>.</summary>
    public static void Pshufw(Span<byte> d, ReadOnlySpan<byte> s, byte imm)
    {
        ReadOnlySpan<ushort> sw = MemoryMarshal.Cast<byte, ushort>(s[..8]);
        Span<ushort> dw = MemoryMarshal.Cast<byte, ushort>(d[..8]);
        ushort w0 = sw[imm & 3];
        ushort w1 = sw[(imm >> 2) & 3];
        ushort w2 = sw[(imm >> 4) & 3];
        ushort w3 = sw[(imm >> 6) & 3];
        dw[0] = w0;
        dw[1] = w1;
        dw[2] = w2;
        dw[3] = w3;
    }

    /// <summary>PSHUFLW: the low four words shuffled, the high quadword copied.</summary>
    public static void Pshuflw(Span<byte> d, ReadOnlySpan<byte> s, byte imm)
    {
        s[8..16].CopyTo(d[8..16]);
        Pshufw(d[..8], s[..8], imm);
    }

    /// <summary>PSHUFHW: the high four words shuffled, the low quadword copied.</summary>
    public static void Pshufhw(Span<byte> d, ReadOnlySpan<byte> s, byte imm)
    {
        s[..8].CopyTo(d[..8]);
        Pshufw(d[8..16], s[8..16], imm);
    }

    /// <summary>PALIGNR: the destination:source concatenation (destination high) shifted right by imm bytes, zeros shifted in.</summary>
    public static void Palignr(Span<byte> d, ReadOnlySpan<byte> s, byte imm)
    {
        int n = d.Length;
        Span<byte> cat = stackalloc byte[2 * n];
        s.CopyTo(cat);
        d.CopyTo(cat[n..]);
        for (int i = 0; i < n; i++)
        {
            int k = i + imm;
            d[i] = k < 2 * n ? cat[k] : (byte)0;
        }
    }

    /// <summary>PBLENDW: word i from the source where imm bit i is set.</summary>
    public static void Pblendw(Span<byte> d, ReadOnlySpan<byte> s, byte imm)
    {
        for (int i = 0; i < 8; i++)
        {
            if (((imm >> i) & 1) != 0)
            {
                s.Slice(2 * i, 2).CopyTo(d.Slice(2 * i, 2));
            }
        }
    }

    /// <summary>PBLENDVB: byte i from the source where bit 7 of byte i of the mask (XMM0) is set.</summary>
    public static void Pblendvb(Span<byte> d, ReadOnlySpan<byte> s, ReadOnlySpan<byte> mask)
    {
        for (int i = 0; i < d.Length; i++)
        {
            if ((mask[i] & 0x80) != 0)
            {
                d[i] = s[i];
            }
        }
    }

    /// <summary>PMOVMSKB: the sign bit of each byte, byte 0 in bit 0.</summary>
    public static uint Pmovmskb(ReadOnlySpan<byte> s)
    {
        uint mask = 0;
        for (int i = 0; i < s.Length; i++)
        {
            mask |= (uint)(s[i] >> 7) << i;
        }

        return mask;
    }

    /// <summary>PEXTRB/W/D/Q: lane <c>imm mod lanes</c> of <paramref name="laneBytes"/> bytes, zero-extended.</summary>
    public static ulong Extract(ReadOnlySpan<byte> s, int laneBytes, byte imm)
    {
        int lanes = s.Length / laneBytes;
        ReadOnlySpan<byte> lane = s.Slice((imm % lanes) * laneBytes, laneBytes);
        return laneBytes switch
        {
            1 => lane[0],
            2 => BinaryPrimitives.ReadUInt16LittleEndian(lane),
            4 => BinaryPrimitives.ReadUInt32LittleEndian(lane),
            _ => BinaryPrimitives.ReadUInt64LittleEndian(lane),
        };
    }

    /// <summary>PINSRB/W/D/Q: <paramref name="value"/> into lane <c>imm mod lanes</c>.</summary>
    public static void Insert(Span<byte> d, int laneBytes, ulong value, byte imm)
    {
        int lanes = d.Length / laneBytes;
        Span<byte> lane = d.Slice((imm % lanes) * laneBytes, laneBytes);
        Span<byte> bytes = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, value);
        bytes[..laneBytes].CopyTo(lane);
    }

    /// <summary>
    /// PMOVSX/PMOVZX: the low lanes of the source, <paramref name="fromBytes"/> wide, sign- or
    /// zero-extended to 16 bytes of lanes <paramref name="toBytes"/> wide.
    /// </summary>
    public static void Extend(Span<byte> d, ReadOnlySpan<byte> s, int fromBytes, int toBytes, bool signed)
    {
        int lanes = 16 / toBytes;
        Span<byte> result = stackalloc byte[16];
        Span<byte> wide = stackalloc byte[8];
        for (int i = 0; i < lanes; i++)
        {
            ReadOnlySpan<byte> lane = s.Slice(i * fromBytes, fromBytes);
            long v = fromBytes switch
            {
                1 => signed ? (sbyte)lane[0] : lane[0],
                2 => signed ? BinaryPrimitives.ReadInt16LittleEndian(lane) : BinaryPrimitives.ReadUInt16LittleEndian(lane),
                _ => signed ? BinaryPrimitives.ReadInt32LittleEndian(lane) : BinaryPrimitives.ReadUInt32LittleEndian(lane),
            };
            BinaryPrimitives.WriteInt64LittleEndian(wide, v);
            wide[..toBytes].CopyTo(result.Slice(i * toBytes, toBytes));
        }

        result.CopyTo(d);
    }

    /// <summary>PTEST: ZF when <c>d &amp; s</c> is zero, CF when <c>~d &amp; s</c> is zero.</summary>
    public static (bool Zero, bool Carry) Ptest(ReadOnlySpan<byte> d, ReadOnlySpan<byte> s)
    {
        ReadOnlySpan<ulong> dq = MemoryMarshal.Cast<byte, ulong>(d);
        ReadOnlySpan<ulong> sq = MemoryMarshal.Cast<byte, ulong>(s);
        ulong and = 0;
        ulong andNot = 0;
        for (int i = 0; i < dq.Length; i++)
        {
            and |= dq[i] & sq[i];
            andNot |= ~dq[i] & sq[i];
        }

        return (and == 0, andNot == 0);
    }
}
