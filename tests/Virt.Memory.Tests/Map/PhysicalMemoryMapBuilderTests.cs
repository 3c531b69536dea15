using Virt.Memory;
using Xunit;

namespace Virt.Memory.Tests.Map;

public sealed class PhysicalMemoryMapBuilderTests
{
    private static PhysicalAddress A(ulong value) => new(value);

    [Fact]
    public void OverlapNamesBothRegionsAndRanges()
    {
        var e = Assert.Throws<InvalidOperationException>(() => new PhysicalMemoryMapBuilder()
            .AddRam("ram", A(0), 0x100000)
            .AddRom("vga-bios", A(0xC0000), 0x8000, [])
            .Build());
        Assert.Contains("'vga-bios' [0x000C0000..0x000C7FFF]", e.Message, StringComparison.Ordinal);
        Assert.Contains("'ram' [0x00000000..0x000FFFFF]", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void OverlapWithAnEarlierWideRegionIsFound()
    {
        // The wide region is not the immediate predecessor of the overlapping one in start order.
        var e = Assert.Throws<InvalidOperationException>(() => new PhysicalMemoryMapBuilder()
            .AddRam("wide", A(0), 0x100000)
            .AddMmio("small", A(0x1000), 0x10, new RecordingMmioDevice(0x10, AccessWidths.Byte))
            .AddMmio("late", A(0x80000), 0x10, new RecordingMmioDevice(0x10, AccessWidths.Byte))
            .Build());
        Assert.Contains("'wide'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void MisalignedRamIsRejectedWithItsName()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new PhysicalMemoryMapBuilder().AddRam("ram", A(0x10), 0x1000));
        Assert.Contains("'ram'", e.Message, StringComparison.Ordinal);
        Assert.Contains("multiple of 4 KiB", e.Message, StringComparison.Ordinal);
        e = Assert.Throws<ArgumentOutOfRangeException>(() => new PhysicalMemoryMapBuilder().AddRam("ram", A(0), 0x1001));
        Assert.Contains("size 0x1001", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void EmptyAndOverflowingRegionsAreRejected()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new PhysicalMemoryMapBuilder().AddRam("ram", A(0), 0));
        Assert.Contains("must not be empty", e.Message, StringComparison.Ordinal);
        e = Assert.Throws<ArgumentOutOfRangeException>(() => new PhysicalMemoryMapBuilder().AddRam("top", A(0xFFFF_FFFF_FFFF_F000), 0x2000));
        Assert.Contains("runs past the top", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void RomImageLargerThanRegionIsRejected()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new PhysicalMemoryMapBuilder().AddRom("bios", A(0xF0000), 0x1000, new byte[0x1001]));
        Assert.Contains("'bios'", e.Message, StringComparison.Ordinal);
        Assert.Contains("4097 bytes", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void DuplicateNamesAreRejected()
    {
        var e = Assert.Throws<ArgumentException>(() => new PhysicalMemoryMapBuilder().AddRam("ram", A(0), 0x1000).AddRam("ram", A(0x10000), 0x1000));
        Assert.Contains("'ram' was already added", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AliasErrorsNameTheProblem()
    {
        var missing = Assert.Throws<InvalidOperationException>(() => new PhysicalMemoryMapBuilder().AddAlias("a", A(0), 0x1000, "nothing", new RegionOffset(0)).Build());
        Assert.Contains("'nothing', which does not exist", missing.Message, StringComparison.Ordinal);

        var mmio = Assert.Throws<InvalidOperationException>(() => new PhysicalMemoryMapBuilder()
            .AddMmio("dev", A(0x10000), 0x1000, new RecordingMmioDevice(0x1000, AccessWidths.Byte))
            .AddAlias("a", A(0), 0x1000, "dev", new RegionOffset(0)).Build());
        Assert.Contains("only RAM, ROM and shadowable ROM can be aliased", mmio.Message, StringComparison.Ordinal);

        var tooLong = Assert.Throws<InvalidOperationException>(() => new PhysicalMemoryMapBuilder()
            .AddRam("ram", A(0x10000), 0x1000)
            .AddAlias("a", A(0), 0x2000, "ram", new RegionOffset(0)).Build());
        Assert.Contains("only 0x1000 bytes long", tooLong.Message, StringComparison.Ordinal);

        var misaligned = Assert.Throws<ArgumentOutOfRangeException>(() => new PhysicalMemoryMapBuilder().AddAlias("a", A(0), 0x1000, "ram", new RegionOffset(0x10)));
        Assert.Contains("multiple of 4 KiB", misaligned.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void MmioDeviceWithoutWidthsIsRejected()
    {
        var e = Assert.Throws<ArgumentException>(() => new PhysicalMemoryMapBuilder().AddMmio("dev", A(0), 0x10, new RecordingMmioDevice(0x10, AccessWidths.None)));
        Assert.Contains("declares no supported access width", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ShadowModeOnlyForShadowableRegions()
    {
        PhysicalMemoryMap map = new PhysicalMemoryMapBuilder().AddRam("ram", A(0), 0x1000).Build();
        var e = Assert.Throws<ArgumentException>(() => map.SetShadowMode("ram", ShadowMode.ReadWriteRam));
        Assert.Contains("not a shadowable ROM", e.Message, StringComparison.Ordinal);
        var unknown = Assert.Throws<ArgumentException>(() => map.SetShadowMode("nope", ShadowMode.ReadWriteRam));
        Assert.Contains("No region named 'nope'", unknown.Message, StringComparison.Ordinal);
    }
}
