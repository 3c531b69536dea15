using Xunit;

namespace Virt.Memory.Tests.Map;

/// <summary><see cref="PhysicalMemoryMapBuilder.AddUnmappedMmio"/>: windows placed at run time, as PCI BARs are.</summary>
public sealed class PhysicalMemoryMapBuilderUnmappedTests
{
    [Fact]
    public void UnmappedWindow_TakesNoRoomUntilPlacedAndEnabled()
    {
        var device = new RecordingMmioDevice(0x1000, AccessWidths.UpToDoubleWord);
        // Two unmapped windows "at 0" and RAM there too: no overlap at build time.
        PhysicalMemoryMap map = new PhysicalMemoryMapBuilder()
            .AddRam("ram", default, 0x10000)
            .AddUnmappedMmio("bar0", 0x1000, device)
            .AddUnmappedMmio("bar1", 0x1000, new RecordingMmioDevice(0x1000, AccessWidths.Byte))
            .Build();
        Assert.False(map.Regions.Single(r => r.Name == "bar0").Enabled);
        Assert.Equal("ram", map.FindRegion(default)!.Name);

        map.MoveRegion("bar0", new PhysicalAddress(0xE000_0000));
        Assert.Null(map.FindRegion(new PhysicalAddress(0xE000_0000)));
        map.SetRegionEnabled("bar0", true);
        Assert.Equal("bar0", map.FindRegion(new PhysicalAddress(0xE000_0FFF))!.Name);
        map.WriteDoubleWord(new PhysicalAddress(0xE000_0010), 0x1234_5678);
        Assert.Equal(0x1234_5678u, map.ReadDoubleWord(new PhysicalAddress(0xE000_0010)));

        // Enabling a window over RAM is refused, naming both.
        map.MoveRegion("bar1", new PhysicalAddress(0x8000));
        InvalidOperationException e = Assert.Throws<InvalidOperationException>(() => map.SetRegionEnabled("bar1", true));
        Assert.Contains("'ram'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void UnmappedWindow_IsValidatedLikeAnyMmio()
    {
        var builder = new PhysicalMemoryMapBuilder();
        Assert.Throws<ArgumentOutOfRangeException>(() => builder.AddUnmappedMmio("empty", 0, new RecordingMmioDevice(1, AccessWidths.Byte)));
        Assert.Throws<ArgumentException>(() => builder.AddUnmappedMmio("none", 16, new RecordingMmioDevice(16, AccessWidths.None)));
        builder.AddUnmappedMmio("a", 16, new RecordingMmioDevice(16, AccessWidths.Byte));
        Assert.Throws<ArgumentException>(() => builder.AddUnmappedMmio("a", 16, new RecordingMmioDevice(16, AccessWidths.Byte)));
    }
}
