using System.Runtime.InteropServices;

namespace Virt.Cpu.Simd;

internal static partial class PackedInteger
{
    /// <summary>PSLLW: a count above 15 clears every lane (SDM Vol. 2B, PSLLW/PSLLD/PSLLQ).</summary>
    public static void Psllw(Span<byte> d, ulong count)
    {
        Span<ushort> w = MemoryMarshal.Cast<byte, ushort>(d);
        for (int i = 0; i < w.Length; i++)
        {
            w[i] = count > 15 ? (ushort)0 : (ushort)(w[i] << (int)count);
        }
    }

    /// <summary>PSLLD.</summary>
    public static void Pslld(Span<byte> d, ulong count)
    {
        Span<uint> v = MemoryMarshal.Cast<byte, uint>(d);
        for (int i = 0; i < v.Length; i++)
        {
            v[i] = count > 31 ? 0 : v[i] << (int)count;
        }
    }

    /// <summary>PSLLQ.</summary>
    public static void Psllq(Span<byte> d, ulong count)
    {
        Span<ulong> v = MemoryMarshal.Cast<byte, ulong>(d);
        for (int i = 0; i < v.Length; i++)
        {
            v[i] = count > 63 ? 0 : v[i] << (int)count;
        }
    }

    /// <summary>PSRLW.</summary>
    public static void Psrlw(Span<byte> d, ulong count)
    {
        Span<ushort> w = MemoryMarshal.Cast<byte, ushort>(d);
        for (int i = 0; i < w.Length; i++)
        {
            w[i] = count > 15 ? (ushort)0 : (ushort)(w[i] >> (int)count);
        }
    }

    /// <summary>PSRLD.</summary>
    public static void Psrld(Span<byte> d, ulong count)
    {
        Span<uint> v = MemoryMarshal.Cast<byte, uint>(d);
        for (int i = 0; i < v.Length; i++)
        {
            v[i] = count > 31 ? 0 : v[i] >> (int)count;
        }
    }

    /// <summary>PSRLQ.</summary>
    public static void Psrlq(Span<byte> d, ulong count)
    {
        Span<ulong> v = MemoryMarshal.Cast<byte, ulong>(d);
        for (int i = 0; i < v.Length; i++)
        {
            v[i] = count > 63 ? 0 : v[i] >> (int)count;
        }
    }

    /// <summary>PSRAW: a count above 15 fills each lane with its sign (SDM Vol. 2B, PSRAW/PSRAD).</summary>
    public static void Psraw(Span<byte> d, ulong count)
    {
        Span<short> w = MemoryMarshal.Cast<byte, short>(d);
        int n = (int)Math.Min(count, 15);
        for (int i = 0; i < w.Length; i++)
        {
            w[i] = (short)(w[i] >> n);
        }
    }

    /// <summary>PSRAD.</summary>
    public static void Psrad(Span<byte> d, ulong count)
    {
        Span<int> v = MemoryMarshal.Cast<byte, int>(d);
        int n = (int)Math.Min(count, 31);
        for (int i = 0; i < v.Length; i++)
        {
            v[i] >>= n;
        }
    }

    /// <summary>PSLLDQ: the whole register shifted left by <paramref name="bytes"/> bytes; above 15 clears it.</summary>
    public static void Pslldq(Span<byte> d, byte bytes)
    {
        int n = Math.Min((int)bytes, 16);
        for (int i = 15; i >= 0; i--)
        {
            d[i] = i >= n ? d[i - n] : (byte)0;
        }
    }

    /// <summary>PSRLDQ: the whole register shifted right by <paramref name="bytes"/> bytes; above 15 clears it.</summary>
    public static void Psrldq(Span<byte> d, byte bytes)
    {
        int n = Math.Min((int)bytes, 16);
        for (int i = 0; i < 16; i++)
        {
            d[i] = i + n < 16 ? d[i + n] : (byte)0;
        }
    }
}
