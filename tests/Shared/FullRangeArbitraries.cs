using FsCheck;
using FsCheck.Fluent;

namespace Virt.Tests.Shared;

/// <summary>
/// Integer generators over the whole range of each type, registered for every property of a test assembly with
/// <c>[assembly: Properties(Arbitrary = [typeof(FullRangeArbitraries)])]</c>.
/// </summary>
/// <remarks>
/// FsCheck's default integer generators draw from about -size..size with size at most 100, so an ALU property over
/// <c>uint</c> would never see a carry out of bit 31, an overflow, a set sign bit or a page-table index other than 0.
/// Here one value in four is an edge value (the operand-size boundaries where carries, overflows and sign changes
/// happen) and the rest are uniform over the full range. Shrinking moves towards zero by halving and by clearing the
/// lowest set bit, so it always terminates in at most 128 steps.
/// </remarks>
public static class FullRangeArbitraries
{
    /// <summary>The boundaries of the 8-, 16- and 32-bit operand sizes.</summary>
    public static readonly IReadOnlyList<uint> Edges32 =
    [
        0, 1, 0x7F, 0x80, 0xFF, 0x7FFF, 0x8000, 0xFFFF, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF,
    ];

    /// <summary>The 32-bit edges plus the 64-bit sign boundary and all ones.</summary>
    public static readonly IReadOnlyList<ulong> Edges64 =
    [
        .. Edges32.Select(e => (ulong)e), 0x7FFF_FFFF_FFFF_FFFF, 0x8000_0000_0000_0000, 0xFFFF_FFFF_FFFF_FFFF,
    ];

    private const int EdgeWeight = 1;
    private const int UniformWeight = 3;

    /// <summary>Uniform over 0..FFFFFFFFh, one value in four from <see cref="Edges32"/>.</summary>
    public static Gen<uint> UInt32Generator { get; } = Gen.Frequency(
        (EdgeWeight, Gen.Elements(Edges32.ToArray())),
        (UniformWeight, Halves16().Select(h => (h.High << 16) | h.Low)));

    /// <summary>Uniform over the 64-bit range, one value in four from <see cref="Edges64"/>.</summary>
    public static Gen<ulong> UInt64Generator { get; } = Gen.Frequency(
        (EdgeWeight, Gen.Elements(Edges64.ToArray())),
        (UniformWeight, Halves16().SelectMany(_ => Halves16(), (a, b) =>
            ((ulong)((a.High << 16) | a.Low) << 32) | ((b.High << 16) | b.Low))));

    /// <summary>Full-range <see cref="uint"/>.</summary>
    /// <returns>The arbitrary.</returns>
    public static Arbitrary<uint> UInt32() => Arb.From(UInt32Generator, ShrinkUInt64Bits<uint>(v => v, v => (uint)v));

    /// <summary>Full-range <see cref="int"/> (the same bit patterns as <see cref="UInt32"/>, so negative half the time).</summary>
    /// <returns>The arbitrary.</returns>
    public static Arbitrary<int> Int32() => Arb.From(UInt32Generator.Select(v => (int)v), ShrinkUInt64Bits<int>(v => (uint)v, v => (int)(uint)v));

    /// <summary>Full-range <see cref="ushort"/>, with the 8- and 16-bit edges.</summary>
    /// <returns>The arbitrary.</returns>
    public static Arbitrary<ushort> UInt16() => Arb.From(Narrow(0xFFFF).Select(v => (ushort)v), ShrinkUInt64Bits<ushort>(v => v, v => (ushort)v));

    /// <summary>Full-range <see cref="short"/>.</summary>
    /// <returns>The arbitrary.</returns>
    public static Arbitrary<short> Int16() => Arb.From(Narrow(0xFFFF).Select(v => (short)v), ShrinkUInt64Bits<short>(v => (ushort)v, v => (short)(ushort)v));

    /// <summary>Full-range <see cref="byte"/>, with 0, 1, 7Fh, 80h and FFh kept in the mix.</summary>
    /// <returns>The arbitrary.</returns>
    public static Arbitrary<byte> Byte() => Arb.From(Narrow(0xFF).Select(v => (byte)v), ShrinkUInt64Bits<byte>(v => v, v => (byte)v));

    /// <summary>Full-range <see cref="ulong"/>.</summary>
    /// <returns>The arbitrary.</returns>
    public static Arbitrary<ulong> UInt64() => Arb.From(UInt64Generator, ShrinkUInt64Bits<ulong>(v => v, v => v));

    /// <summary>Full-range <see cref="long"/>.</summary>
    /// <returns>The arbitrary.</returns>
    public static Arbitrary<long> Int64() => Arb.From(UInt64Generator.Select(v => (long)v), ShrinkUInt64Bits<long>(v => (ulong)v, v => (long)v));

    /// <summary>Uniform over 0..<paramref name="mask"/>, one value in four from the edges that fit.</summary>
    private static Gen<uint> Narrow(uint mask) => Gen.Frequency(
        (EdgeWeight, Gen.Elements(Edges32.Where(e => e <= mask).ToArray())),
        (UniformWeight, Gen.Choose(0, (int)mask).Select(v => (uint)v)));

    private static Gen<(uint High, uint Low)> Halves16() =>
        Gen.Choose(0, 0xFFFF).SelectMany(_ => Gen.Choose(0, 0xFFFF), (h, l) => ((uint)h, (uint)l));

    /// <summary>Shrinks the bit pattern towards zero: to 0, to half, and with its lowest set bit cleared.</summary>
    private static Func<T, IEnumerable<T>> ShrinkUInt64Bits<T>(Func<T, ulong> toBits, Func<ulong, T> fromBits) => value =>
    {
        ulong bits = toBits(value);
        if (bits == 0)
        {
            return [];
        }

        return new[] { 0UL, bits >> 1, bits & (bits - 1) }.Distinct().Where(b => b != bits).Select(fromBits);
    };
}
