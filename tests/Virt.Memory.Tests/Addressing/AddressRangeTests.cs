using FsCheck;
using FsCheck.Xunit;
using Virt.Memory;
using Xunit;

namespace Virt.Memory.Tests.Addressing;

public sealed class AddressRangeTests
{
    [Fact]
    public void RangeAtTopOfSpaceDoesNotOverflow()
    {
        var range = AddressRange.FromStartAndSize(new PhysicalAddress(ulong.MaxValue - 0xFFF), 0x1000);
        Assert.Equal(ulong.MaxValue, range.LastAddress.Value);
        Assert.Equal(0xFFFUL, range.SizeInBytesMinusOne);
        Assert.True(range.Contains(new PhysicalAddress(ulong.MaxValue)));
    }

    [Fact]
    public void WholeSpaceIsRepresentable()
    {
        var range = new AddressRange(new PhysicalAddress(0), new PhysicalAddress(ulong.MaxValue));
        Assert.Equal(ulong.MaxValue, range.SizeInBytesMinusOne);
    }

    [Fact]
    public void RangePastTopIsRejectedWithMessage()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => AddressRange.FromStartAndSize(new PhysicalAddress(ulong.MaxValue), 2));
        Assert.Contains("runs past the top", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void EmptyAndInvertedRangesAreRejected()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => AddressRange.FromStartAndSize(new PhysicalAddress(5), 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new AddressRange(new PhysicalAddress(5), new PhysicalAddress(4)));
    }

    // Intersection agrees with the definition: some address lies in both.
    [Property]
    public bool IntersectsMatchesPointwiseDefinition(byte s1, byte l1, byte s2, byte l2)
    {
        ulong a0 = Math.Min(s1, l1), a1 = Math.Max(s1, l1), b0 = Math.Min(s2, l2), b1 = Math.Max(s2, l2);
        var a = new AddressRange(new PhysicalAddress(a0), new PhysicalAddress(a1));
        var b = new AddressRange(new PhysicalAddress(b0), new PhysicalAddress(b1));
        bool any = false;
        for (ulong x = a0; x <= a1; x++)
        {
            any |= x >= b0 && x <= b1;
        }

        return a.Intersects(b) == any && b.Intersects(a) == any;
    }
}
