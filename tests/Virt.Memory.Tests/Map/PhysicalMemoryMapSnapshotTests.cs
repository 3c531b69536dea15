using Virt.Memory;
using Xunit;

namespace Virt.Memory.Tests.Map;

/// <summary>The map's snapshot side: enumerating allocated RAM chunks and replacing RAM contents.</summary>
public sealed class PhysicalMemoryMapSnapshotTests
{
    private const int Chunk = PhysicalMemoryMap.RamChunkSizeInBytes;

    private static PhysicalAddress A(ulong value) => new(value);

    private static PhysicalMemoryMap Build() => new PhysicalMemoryMapBuilder()
        .AddRam("low", A(0), 0x10_0000)
        .AddShadowableRom("bios", A(0xF_0000 + 0x10_0000), 0x1_0000, new byte[0x1_0000])
        .AddAlias("low-alias", A(0x20_0000), 0x10_0000, "low", new RegionOffset(0))
        .Build();

    [Fact]
    public void OnlyRegionsWithTheirOwnRamAreListedAndOnlyWrittenChunksAreAllocated()
    {
        PhysicalMemoryMap map = Build();
        Assert.Equal(["low", "bios"], map.RamRegionNames);
        Assert.Empty(map.GetAllocatedRamChunks("low"));
        map.WriteByte(A((3 * Chunk) + 5), 0x42);
        map.WriteByte(A(0x20_0000 + (7 * Chunk)), 0x43);   // through the alias: the same backing
        Assert.Equal([3L, 7L], map.GetAllocatedRamChunks("low"));
        Assert.Equal(0x42, map.PeekRamChunk("low", 3)[5]);
        Assert.True(map.PeekRamChunk("low", 4).IsEmpty);
        Assert.Throws<ArgumentException>(() => map.GetAllocatedRamChunks("low-alias"));
    }

    [Fact]
    public void RestoreRamReplacesTheChunksGivenAndZeroesTheRest()
    {
        PhysicalMemoryMap map = Build();
        map.WriteByte(A(1 * Chunk), 0x11);
        map.WriteByte(A(2 * Chunk), 0x22);
        byte[] saved = new byte[Chunk];
        saved[9] = 0x99;

        map.RestoreRam("low", new Dictionary<long, byte[]> { [2] = saved, [5] = saved });
        Assert.Equal(0, map.ReadByte(A(1 * Chunk)));         // allocated, not in the snapshot: zeros now
        Assert.Equal(0, map.ReadByte(A(2 * Chunk)));
        Assert.Equal(0x99, map.ReadByte(A((2 * Chunk) + 9)));
        Assert.Equal(0x99, map.ReadByte(A((5 * Chunk) + 9)));
        Assert.Equal(0x99, map.ReadByte(A(0x20_0000 + (5 * Chunk) + 9)));  // and through the alias
        Assert.True(map.IsPageDirty(A(5 * Chunk)));
    }

    [Fact]
    public void RestoreRamDropsCachedPointersWithChangedContent()
    {
        PhysicalMemoryMap map = Build();
        var observer = new RecordingObserver();
        map.AddObserver(observer);
        Assert.True(map.TryGetHostPage(A(6 * Chunk), forWrite: false, out _));   // the shared zero page, cached

        byte[] saved = new byte[Chunk];
        saved[0] = 0x77;
        map.RestoreRam("low", new Dictionary<long, byte[]> { [6] = saved });
        Assert.Contains(observer.Invalidations, i => i.ContentChanged && i.Range.Start.Value <= 6 * Chunk && i.Range.LastAddress.Value >= 6 * Chunk);
        Assert.True(map.TryGetHostPage(A(6 * Chunk), forWrite: false, out nint page));
        unsafe
        {
            Assert.Equal(0x77, *(byte*)page);
        }
    }

    [Fact]
    public void RestoreRamWithABadChunkChangesNothing()
    {
        PhysicalMemoryMap map = Build();
        map.WriteByte(A(1 * Chunk), 0x11);
        Assert.Throws<ArgumentException>(() => map.RestoreRam("low", new Dictionary<long, byte[]> { [0] = new byte[Chunk], [1] = new byte[10] }));
        Assert.Throws<ArgumentException>(() => map.RestoreRam("low", new Dictionary<long, byte[]> { [16] = new byte[Chunk] }));
        Assert.Equal(0x11, map.ReadByte(A(1 * Chunk)));
    }

    [Fact]
    public void ShadowRamOfAShadowableRomIsRestoredToo()
    {
        PhysicalMemoryMap map = Build();
        map.SetShadowMode("bios", ShadowMode.ReadWriteRam);
        byte[] saved = new byte[Chunk];
        saved[0x10] = 0xA5;
        map.RestoreRam("bios", new Dictionary<long, byte[]> { [0] = saved });
        Assert.Equal(0xA5, map.ReadByte(A(0x10_0000 + 0xF_0000 + 0x10)));
    }

    [Fact]
    public void RestoreRamPagePutsBytesBackWithoutMarkingThePageDirty()
    {
        PhysicalMemoryMap map = Build();
        map.WriteByte(A(0x3000), 0x33);
        _ = map.TakeDirtyPages("low");
        byte[] page = new byte[PhysicalMemoryMap.PageSizeInBytes];
        page[1] = 0x44;
        map.RestoreRamPage("low", 3, page);
        Assert.Equal(0x44, map.ReadByte(A(0x3001)));
        Assert.Equal(0, map.ReadByte(A(0x3000)));
        Assert.False(map.IsPageDirty(A(0x3000)));
        map.RestoreRamPage("low", 3, []);
        Assert.Equal(0, map.ReadByte(A(0x3001)));
        Assert.Throws<ArgumentException>(() => map.RestoreRamPage("low", 3, new byte[5]));
    }
}
