using System.Reflection;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Virt.Tests.Shared;
using Xunit;

namespace Virt.Cpu.Tests;

/// <summary>
/// The integer generators every property of this assembly draws from (<see cref="FullRangeArbitraries"/>) reach what the
/// ALU, shift, multiply/divide and page-walk properties need to see: carries, signed overflows, set sign bits, negative
/// operands, divide errors and page-table indexes other than 0. FsCheck's defaults (about 0..100) reach none of these.
/// </summary>
public sealed class FullRangeGeneratorTests
{
    private const int Samples = 4000;

    [Fact]
    public void The_assembly_registers_the_full_range_generators_for_every_property()
    {
        PropertiesAttribute? attribute = typeof(FullRangeGeneratorTests).Assembly.GetCustomAttribute<PropertiesAttribute>();
        Assert.NotNull(attribute);
        Assert.Contains(typeof(FullRangeArbitraries), attribute.Arbitrary);
    }

    [Fact]
    public void Uint_pairs_cover_carries_overflows_signs_and_every_edge_value()
    {
        // One stream split in halves: the two operands of a pair are independent draws.
        uint[] stream = Sample(FullRangeArbitraries.UInt32(), count: 2 * Samples);
        uint[] a = stream[..Samples];
        uint[] b = stream[Samples..];
        foreach (uint edge in FullRangeArbitraries.Edges32)
        {
            Assert.Contains(edge, a);
        }

        for (int size = 1; size <= 4; size <<= 1)
        {
            int bits = size * 8;
            ulong mask = (1UL << bits) - 1;
            ulong sign = 1UL << (bits - 1);
            var pairs = a.Zip(b, (x, y) => (X: x & mask, Y: y & mask)).ToArray();

            // Unsigned carry out of ADD, borrow out of SUB, signed overflow of ADD, sign set and clear: each at least 5%.
            AssertShare(pairs, p => p.X + p.Y > mask, $"{bits}-bit ADD carry");
            AssertShare(pairs, p => p.X < p.Y, $"{bits}-bit SUB borrow");
            AssertShare(pairs, p => ((p.X ^ (p.X + p.Y)) & (p.Y ^ (p.X + p.Y)) & sign) != 0, $"{bits}-bit ADD overflow");
            AssertShare(pairs, p => (p.X & sign) != 0, $"{bits}-bit sign set");
            AssertShare(pairs, p => (p.X & sign) == 0, $"{bits}-bit sign clear");
        }

        // 32-bit IDIV: both representable quotients (sign-extended dividends) and quotient overflows.
        AssertShare(a.Zip(b).ToArray(), p => p.Second != 0 && (long)(int)p.First / (int)p.Second is >= int.MinValue and <= int.MaxValue, "IDIV in range");
        AssertShare(a.Zip(b).ToArray(), p => p.Second is 0 or 0xFFFF_FFFF, "IDIV by 0 or -1", atLeast: 0.02);
    }

    [Fact]
    public void Int_is_negative_about_half_the_time_and_reaches_both_extremes()
    {
        int[] values = Sample(FullRangeArbitraries.Int32());
        AssertShare(values, v => v < 0, "negative int");
        Assert.Contains(int.MinValue, values);
        Assert.Contains(int.MaxValue, values);
        Assert.Contains(-1, values);
    }

    [Fact]
    public void Linear_addresses_reach_many_page_directory_and_page_table_indexes()
    {
        uint[] linear = Sample(FullRangeArbitraries.UInt32());
        Assert.True(linear.Select(l => l >> 22).Distinct().Count() > 500, "page-directory indexes");
        Assert.True(linear.Select(l => (l >> 12) & 0x3FF).Distinct().Count() > 500, "page-table indexes");
        Assert.True(linear.Select(l => (l >> 21) & 0x1FF).Distinct().Count() > 300, "PAE page-directory indexes");
        Assert.True(linear.Select(l => l >> 30).Distinct().Count() == 4, "PAE PDPT indexes");
        AssertShare(linear, l => (l & (1u << 20)) != 0, "A20 bit set");
    }

    [Fact]
    public void Narrow_types_hit_their_edges_and_the_whole_range()
    {
        ushort[] words = Sample(FullRangeArbitraries.UInt16());
        foreach (ushort edge in new ushort[] { 0, 1, 0x7F, 0x80, 0xFF, 0x7FFF, 0x8000, 0xFFFF })
        {
            Assert.Contains(edge, words);
        }

        AssertShare(words, w => w >= 0x8000, "ushort high half");
        byte[] bytes = Sample(FullRangeArbitraries.Byte());
        Assert.Equal(256, bytes.Distinct().Count());
        ulong[] quads = Sample(FullRangeArbitraries.UInt64());
        AssertShare(quads, q => q > uint.MaxValue, "ulong above 32 bits");
        Assert.Contains(0x8000_0000_0000_0000UL, quads);
    }

    [Fact]
    public void Shrinking_moves_towards_zero_and_stops_there()
    {
        Arbitrary<uint> arbitrary = FullRangeArbitraries.UInt32();
        Assert.Empty(arbitrary.Shrinker(0));
        Assert.Equal([0u, 0x4000_0000u], arbitrary.Shrinker(0x8000_0000).Order());
        Assert.All(arbitrary.Shrinker(0xFFFF_FFFF), s => Assert.True(s < 0xFFFF_FFFF));
    }

    // A fixed seed keeps the test deterministic.
    private static T[] Sample<T>(Arbitrary<T> arbitrary, int count = Samples) => arbitrary.Generator.ArrayOf(count).Sample(100, new Rnd(0x5EED), 1)[0];

    private static void AssertShare<T>(T[] values, Func<T, bool> predicate, string what, double atLeast = 0.05)
    {
        double share = values.Count(predicate) / (double)values.Length;
        Assert.True(share >= atLeast, $"{what}: only {share:P1} of {values.Length} samples");
    }
}
