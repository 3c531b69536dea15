using System.Runtime.InteropServices;

namespace Virt.Cpu.Simd;

/// <summary>
/// The integer operations of MMX, SSE, SSE2, SSSE3 and SSE4.1 as pure functions over the bytes of one
/// register: 8 bytes for an MMX register, 16 for an XMM register, little-endian lanes as in the register.
/// The destination span is also the first source (the two-operand legacy forms, "dest op= src"); the
/// caller reads the second source (a register or memory) into its own buffer first, so the two never
/// overlap. Names follow Iced's <c>Mnemonic</c>.
/// </summary>
/// <remarks>
/// Lanes are read through <see cref="MemoryMarshal.Cast{TFrom, TTo}(Span{TFrom})"/>, which assumes a
/// little-endian host, as every host .NET runs Virt on is (x64, Arm64).
/// </remarks>
internal static partial class PackedInteger
{
    /// <summary>An operation applied to one pair of lanes.</summary>
    /// <typeparam name="T">The lane type.</typeparam>
    private interface ILaneOp<T>
        where T : unmanaged
    {
        static abstract T Apply(T a, T b);
    }

    /// <summary><c>d[i] = Op(d[i], s[i])</c> for every lane of type <typeparamref name="T"/>.</summary>
    private static void Lanewise<T, TOp>(Span<byte> d, ReadOnlySpan<byte> s)
        where T : unmanaged
        where TOp : struct, ILaneOp<T>
    {
        Span<T> dl = MemoryMarshal.Cast<byte, T>(d);
        ReadOnlySpan<T> sl = MemoryMarshal.Cast<byte, T>(s);
        for (int i = 0; i < dl.Length; i++)
        {
            dl[i] = TOp.Apply(dl[i], sl[i]);
        }
    }

    private static sbyte SaturateToSByte(int v) => (sbyte)Math.Clamp(v, sbyte.MinValue, sbyte.MaxValue);

    private static byte SaturateToByte(int v) => (byte)Math.Clamp(v, byte.MinValue, byte.MaxValue);

    private static short SaturateToInt16(int v) => (short)Math.Clamp(v, short.MinValue, short.MaxValue);

    private static ushort SaturateToUInt16(int v) => (ushort)Math.Clamp(v, ushort.MinValue, ushort.MaxValue);

    private readonly struct AddOp : ILaneOp<byte>, ILaneOp<ushort>, ILaneOp<uint>, ILaneOp<ulong>
    {
        static byte ILaneOp<byte>.Apply(byte a, byte b) => (byte)(a + b);

        static ushort ILaneOp<ushort>.Apply(ushort a, ushort b) => (ushort)(a + b);

        static uint ILaneOp<uint>.Apply(uint a, uint b) => a + b;

        static ulong ILaneOp<ulong>.Apply(ulong a, ulong b) => a + b;
    }

    private readonly struct SubOp : ILaneOp<byte>, ILaneOp<ushort>, ILaneOp<uint>, ILaneOp<ulong>
    {
        static byte ILaneOp<byte>.Apply(byte a, byte b) => (byte)(a - b);

        static ushort ILaneOp<ushort>.Apply(ushort a, ushort b) => (ushort)(a - b);

        static uint ILaneOp<uint>.Apply(uint a, uint b) => a - b;

        static ulong ILaneOp<ulong>.Apply(ulong a, ulong b) => a - b;
    }

    private readonly struct AddSaturateOp : ILaneOp<sbyte>, ILaneOp<short>, ILaneOp<byte>, ILaneOp<ushort>
    {
        static sbyte ILaneOp<sbyte>.Apply(sbyte a, sbyte b) => SaturateToSByte(a + b);

        static short ILaneOp<short>.Apply(short a, short b) => SaturateToInt16(a + b);

        static byte ILaneOp<byte>.Apply(byte a, byte b) => SaturateToByte(a + b);

        static ushort ILaneOp<ushort>.Apply(ushort a, ushort b) => SaturateToUInt16(a + b);
    }

    private readonly struct SubSaturateOp : ILaneOp<sbyte>, ILaneOp<short>, ILaneOp<byte>, ILaneOp<ushort>
    {
        static sbyte ILaneOp<sbyte>.Apply(sbyte a, sbyte b) => SaturateToSByte(a - b);

        static short ILaneOp<short>.Apply(short a, short b) => SaturateToInt16(a - b);

        static byte ILaneOp<byte>.Apply(byte a, byte b) => SaturateToByte(a - b);

        static ushort ILaneOp<ushort>.Apply(ushort a, ushort b) => SaturateToUInt16(a - b);
    }

    /// <summary>PAVGB/PAVGW: (a + b + 1) >> 1 computed without overflow (SDM Vol. 2B, PAVGB/PAVGW).</summary>
    private readonly struct AverageOp : ILaneOp<byte>, ILaneOp<ushort>
    {
        static byte ILaneOp<byte>.Apply(byte a, byte b) => (byte)((a + b + 1) >> 1);

        static ushort ILaneOp<ushort>.Apply(ushort a, ushort b) => (ushort)((a + b + 1) >> 1);
    }

    private readonly struct MaxOp : ILaneOp<sbyte>, ILaneOp<short>, ILaneOp<int>, ILaneOp<byte>, ILaneOp<ushort>, ILaneOp<uint>
    {
        static sbyte ILaneOp<sbyte>.Apply(sbyte a, sbyte b) => Math.Max(a, b);

        static short ILaneOp<short>.Apply(short a, short b) => Math.Max(a, b);

        static int ILaneOp<int>.Apply(int a, int b) => Math.Max(a, b);

        static byte ILaneOp<byte>.Apply(byte a, byte b) => Math.Max(a, b);

        static ushort ILaneOp<ushort>.Apply(ushort a, ushort b) => Math.Max(a, b);

        static uint ILaneOp<uint>.Apply(uint a, uint b) => Math.Max(a, b);
    }

    private readonly struct MinOp : ILaneOp<sbyte>, ILaneOp<short>, ILaneOp<int>, ILaneOp<byte>, ILaneOp<ushort>, ILaneOp<uint>
    {
        static sbyte ILaneOp<sbyte>.Apply(sbyte a, sbyte b) => Math.Min(a, b);

        static short ILaneOp<short>.Apply(short a, short b) => Math.Min(a, b);

        static int ILaneOp<int>.Apply(int a, int b) => Math.Min(a, b);

        static byte ILaneOp<byte>.Apply(byte a, byte b) => Math.Min(a, b);

        static ushort ILaneOp<ushort>.Apply(ushort a, ushort b) => Math.Min(a, b);

        static uint ILaneOp<uint>.Apply(uint a, uint b) => Math.Min(a, b);
    }

    private readonly struct CompareEqualOp : ILaneOp<byte>, ILaneOp<ushort>, ILaneOp<uint>, ILaneOp<ulong>
    {
        static byte ILaneOp<byte>.Apply(byte a, byte b) => a == b ? byte.MaxValue : (byte)0;

        static ushort ILaneOp<ushort>.Apply(ushort a, ushort b) => a == b ? ushort.MaxValue : (ushort)0;

        static uint ILaneOp<uint>.Apply(uint a, uint b) => a == b ? uint.MaxValue : 0;

        static ulong ILaneOp<ulong>.Apply(ulong a, ulong b) => a == b ? ulong.MaxValue : 0;
    }

    private readonly struct CompareGreaterOp : ILaneOp<sbyte>, ILaneOp<short>, ILaneOp<int>, ILaneOp<long>
    {
        static sbyte ILaneOp<sbyte>.Apply(sbyte a, sbyte b) => a > b ? (sbyte)-1 : (sbyte)0;

        static short ILaneOp<short>.Apply(short a, short b) => a > b ? (short)-1 : (short)0;

        static int ILaneOp<int>.Apply(int a, int b) => a > b ? -1 : 0;

        static long ILaneOp<long>.Apply(long a, long b) => a > b ? -1 : 0;
    }

    private readonly struct AndOp : ILaneOp<ulong>
    {
        static ulong ILaneOp<ulong>.Apply(ulong a, ulong b) => a & b;
    }

    private readonly struct AndNotOp : ILaneOp<ulong>
    {
        static ulong ILaneOp<ulong>.Apply(ulong a, ulong b) => ~a & b;
    }

    private readonly struct OrOp : ILaneOp<ulong>
    {
        static ulong ILaneOp<ulong>.Apply(ulong a, ulong b) => a | b;
    }

    private readonly struct XorOp : ILaneOp<ulong>
    {
        static ulong ILaneOp<ulong>.Apply(ulong a, ulong b) => a ^ b;
    }

    private readonly struct MultiplyLowOp : ILaneOp<short>, ILaneOp<int>
    {
        static short ILaneOp<short>.Apply(short a, short b) => (short)(a * b);

        static int ILaneOp<int>.Apply(int a, int b) => a * b;
    }

    private readonly struct MultiplyHighOp : ILaneOp<short>, ILaneOp<ushort>
    {
        static short ILaneOp<short>.Apply(short a, short b) => (short)((a * b) >> 16);

        static ushort ILaneOp<ushort>.Apply(ushort a, ushort b) => (ushort)(((uint)a * b) >> 16);
    }

    /// <summary>PMULHRSW: ((a * b >> 14) + 1) >> 1, the rounded high half (SDM Vol. 2B, PMULHRSW).</summary>
    private readonly struct MultiplyHighRoundScaleOp : ILaneOp<short>
    {
        static short ILaneOp<short>.Apply(short a, short b) => (short)((((a * b) >> 14) + 1) >> 1);
    }

    /// <summary>PSIGNB/W/D: negate, keep or zero the destination lane by the sign of the source lane.</summary>
    private readonly struct SignOp : ILaneOp<sbyte>, ILaneOp<short>, ILaneOp<int>
    {
        static sbyte ILaneOp<sbyte>.Apply(sbyte a, sbyte b) => b < 0 ? (sbyte)-a : b == 0 ? (sbyte)0 : a;

        static short ILaneOp<short>.Apply(short a, short b) => b < 0 ? (short)-a : b == 0 ? (short)0 : a;

        static int ILaneOp<int>.Apply(int a, int b) => b < 0 ? -a : b == 0 ? 0 : a;
    }

    /// <summary>PABSB/W/D: |b| into the destination; the most negative value stays as its unsigned magnitude.</summary>
    private readonly struct AbsoluteOp : ILaneOp<sbyte>, ILaneOp<short>, ILaneOp<int>
    {
        static sbyte ILaneOp<sbyte>.Apply(sbyte a, sbyte b) => b < 0 ? (sbyte)-b : b;

        static short ILaneOp<short>.Apply(short a, short b) => b < 0 ? (short)-b : b;

        static int ILaneOp<int>.Apply(int a, int b) => b < 0 ? -b : b;
    }
}
