using Virt.Machine.Boot;
using Virt.Memory;
using Xunit;

namespace Virt.Machine.Tests.Boot;

public sealed class E820MapTests
{
    private const ulong MiB = 1024 * 1024;

    private static (ulong Start, ulong Size, E820EntryType Type)[] Flat(IReadOnlyList<E820Entry> map) => [.. map.Select(e => (e.Start.Value, e.SizeInBytes, e.Type))];

    [Fact]
    public void PcMapOf256MiB()
    {
        Assert.Equal(
            [
                (0UL, 0x9_FC00UL, E820EntryType.Ram),
                (0x9_FC00UL, 0x400UL, E820EntryType.Reserved),
                (0xF_0000UL, 0x1_0000UL, E820EntryType.Reserved),
                (0x10_0000UL, 255 * MiB, E820EntryType.Ram),
            ],
            Flat(E820Map.CreatePc(256 * MiB)));
    }

    [Fact]
    public void RamBeyondThePciHoleContinuesAt4GiB()
    {
        IReadOnlyList<E820Entry> map = E820Map.CreatePc(4096 * MiB);
        Assert.Equal((0x10_0000UL, 0xE000_0000UL - 0x10_0000, E820EntryType.Ram), Flat(map)[3]);
        Assert.Equal((0x1_0000_0000UL, 0x2000_0000UL, E820EntryType.Ram), Flat(map)[4]);
        Assert.Null(E820Map.FindRam(map, new PhysicalAddress(0xF000_0000)));
    }

    [Fact]
    public void LowRamLimitCanMatchQemusGigabyteAlignment()
    {
        IReadOnlyList<E820Entry> map = E820Map.CreatePc(4096 * MiB, lowRamLimitInBytes: 0xC000_0000);
        Assert.Equal(0xC000_0000UL - 1, map[3].LastAddress.Value);
        Assert.Equal(0x4000_0000UL, map[4].SizeInBytes);
    }

    [Fact]
    public void RamRangesCoverConventionalExtendedAndHighMemory()
    {
        IReadOnlyList<AddressRange> ranges = E820Map.CreatePcRamRanges(4096 * MiB);
        Assert.Equal(3, ranges.Count);
        Assert.Equal(0x9_FFFFUL, ranges[0].LastAddress.Value);
        Assert.Equal(0x10_0000UL, ranges[1].Start.Value);
        Assert.Equal(0xDFFF_FFFFUL, ranges[1].LastAddress.Value);
        Assert.Equal(0x1_0000_0000UL, ranges[2].Start.Value);
    }

    [Fact]
    public void OneMebibyteHasNoExtendedMemory()
    {
        Assert.Equal(3, E820Map.CreatePc(MiB).Count);
    }

    [Theory]
    [InlineData(512 * 1024)]
    [InlineData((64 * 1024 * 1024) + 1)]
    public void BadRamSizesAreRejected(ulong size)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => E820Map.CreatePc(size));
    }

    [Fact]
    public void EmptyEntryIsRejected()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new E820Entry(new PhysicalAddress(0), 0, E820EntryType.Ram));
    }

    [Fact]
    public void OverlappingMapIsRejectedByTheLoaders()
    {
        E820Entry[] map = [new(new PhysicalAddress(0), 0x20_0000, E820EntryType.Ram), new(new PhysicalAddress(0x10_0000), 0x10_0000, E820EntryType.Reserved)];
        ArgumentException e = Assert.Throws<ArgumentException>(() => LinuxBootLoader.Load(new SparseGuestMemory(), new MemoryStream(TestImages.BzImage()), "vmlinuz", new LinuxBootOptions { MemoryMap = map }));
        Assert.Contains("overlap", e.Message, StringComparison.Ordinal);
    }
}
