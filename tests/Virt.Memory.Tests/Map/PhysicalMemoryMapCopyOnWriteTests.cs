using Virt.Memory;
using Xunit;

namespace Virt.Memory.Tests.Map;

/// <summary><see cref="PhysicalMemoryMap.ShareRamInto"/>: RAM shared between a map and its fork, copied on the first write.</summary>
public sealed class PhysicalMemoryMapCopyOnWriteTests
{
    private const int Chunk = PhysicalMemoryMap.RamChunkSizeInBytes;
    private const int Page = PhysicalMemoryMap.PageSizeInBytes;
    private const int PagesPerChunk = Chunk / Page;

    private static PhysicalAddress A(ulong value) => new(value);

    private static PhysicalMemoryMap Build(ulong lowSize = 0x10_0000) => new PhysicalMemoryMapBuilder()
        .AddRam("low", A(0), lowSize)
        .AddShadowableRom("bios", A(0x4000_0000), 0x1_0000, new byte[0x1_0000])
        .AddAlias("low-alias", A(0x5000_0000), 0x8_0000, "low", new RegionOffset(0))
        .Build();

    [Fact]
    public void TheForkSeesTheParentsRamAndNeitherSeesTheOthersLaterWrites()
    {
        PhysicalMemoryMap parent = Build();
        parent.WriteDoubleWord(A(0x1000), 0x11111111);
        parent.WriteDoubleWord(A(0x5_0000), 0x22222222);
        parent.SetShadowMode("bios", ShadowMode.ReadFromRam | ShadowMode.WriteToRam);
        parent.WriteByte(A(0x4000_0010), 0x33);
        PhysicalMemoryMap child = Build();
        child.WriteByte(A(0x9_0000), 0xEE);     // the target's own RAM is dropped
        child.SetShadowMode("bios", ShadowMode.ReadFromRam | ShadowMode.WriteToRam);

        parent.ShareRamInto(child);
        Assert.Equal(0x11111111u, child.ReadDoubleWord(A(0x1000)));
        Assert.Equal(0x22222222u, child.ReadDoubleWord(A(0x5000_0000 + 0x5_0000)));   // through the alias too
        Assert.Equal(0x33, child.ReadByte(A(0x4000_0010)));                        // shadow RAM is shared as well
        Assert.Equal(0, child.ReadByte(A(0x9_0000)));

        child.WriteDoubleWord(A(0x1000), 0xCCCCCCCC);
        parent.WriteDoubleWord(A(0x5_0000), 0xAAAAAAAA);
        parent.WriteByte(A(0x4000_0010), 0x44);
        Assert.Equal(0x11111111u, parent.ReadDoubleWord(A(0x1000)));
        Assert.Equal(0xCCCCCCCCu, child.ReadDoubleWord(A(0x1000)));
        Assert.Equal(0x22222222u, child.ReadDoubleWord(A(0x5_0000)));
        Assert.Equal(0xAAAAAAAAu, parent.ReadDoubleWord(A(0x5_0000)));
        Assert.Equal(0x33, child.ReadByte(A(0x4000_0010)));
    }

    [Fact]
    public void AWriteCopiesOnlyItsPageAndOnlyWhileAnotherMapHoldsTheChunk()
    {
        PhysicalMemoryMap parent = Build();
        for (ulong chunk = 0; chunk < 4; chunk++)
        {
            parent.WriteByte(A(chunk * Chunk), (byte)(chunk + 1));
        }

        PhysicalMemoryMap child = Build();
        parent.ShareRamInto(child);
        Assert.Equal(4L * Chunk, parent.SharedRamBytes);
        Assert.Equal(4L * Chunk, child.SharedRamBytes);

        child.WriteByte(A((2 * Chunk) + 100), 0x55);
        child.WriteByte(A((2 * Chunk) + 200), 0x56);   // the same page, already the child's own
        Assert.Equal(1, child.CopiedOnWritePageCount);
        Assert.Equal((4L * Chunk) - Page, child.SharedRamBytes);
        Assert.Equal(4L * Chunk, parent.SharedRamBytes);

        // The child still holds the rest of chunk 2, so the parent copies the page it writes too.
        parent.WriteByte(A((2 * Chunk) + 100), 0x77);
        Assert.Equal(1, parent.CopiedOnWritePageCount);
        Assert.Equal(0x55, child.ReadByte(A((2 * Chunk) + 100)));
        Assert.Equal(0x77, parent.ReadByte(A((2 * Chunk) + 100)));
        Assert.Equal(3, child.ReadByte(A(2 * Chunk)));
        Assert.Equal(3, parent.ReadByte(A(2 * Chunk)));      // both copies kept the rest of the page

        // Once the child copied every page of chunk 3 it lets go of it: the parent, its last holder, writes it in place.
        for (int page = 0; page < PagesPerChunk; page++)
        {
            child.WriteByte(A((3 * Chunk) + ((ulong)page * Page) + 7), 0xC3);
        }

        Assert.Equal(1 + PagesPerChunk, child.CopiedOnWritePageCount);
        parent.WriteByte(A((3 * Chunk) + 9), 0x99);
        Assert.Equal(1, parent.CopiedOnWritePageCount);
        Assert.Equal(0x99, parent.ReadByte(A((3 * Chunk) + 9)));
        Assert.Equal(0, child.ReadByte(A((3 * Chunk) + 9)));
        Assert.Equal(4, child.ReadByte(A(3 * Chunk)));
        Assert.Equal(0xC3, child.ReadByte(A((3 * Chunk) + (15 * Page) + 7)));
        Assert.Equal(0, parent.ReadByte(A((3 * Chunk) + (15 * Page) + 7)));
    }

    [Fact]
    public void ACachedWritePointerIsDroppedAtTheForkAndNoneIsHandedOutForASharedPage()
    {
        PhysicalMemoryMap parent = Build();
        var observer = new RecordingObserver();
        parent.AddObserver(observer);
        Assert.True(parent.TryGetHostPage(A(0x3000), forWrite: true, out nint before));

        PhysicalMemoryMap child = Build();
        parent.ShareRamInto(child);

        // A CPU's TLB holding the old write pointer hears that the whole backing's translations are gone.
        Assert.Contains(observer.Invalidations, i => i.Range.Contains(A(0x3000)) && !i.ContentChanged);

        // Reads may share; a write pointer is the map's own copy, never the shared chunk.
        Assert.True(parent.TryGetHostPage(A(0x3000), forWrite: false, out nint shared));
        Assert.Equal(before, shared);
        Assert.True(child.TryGetHostPage(A(0x3000), forWrite: false, out nint childShared));
        Assert.Equal(shared, childShared);
        Assert.True(child.TryGetHostPage(A(0x3000), forWrite: true, out nint childOwn));
        Assert.NotEqual(shared, childOwn);
        Assert.True(parent.TryGetHostPage(A(0x3000), forWrite: true, out nint parentOwn));
        Assert.NotEqual(shared, parentOwn);   // the child still holds the chunk's other pages: the parent copies its page too
        Assert.NotEqual(childOwn, parentOwn);
    }

    [Fact]
    public void RestoreAndRewindOfASharedChunkDoNotReachTheOtherMap()
    {
        PhysicalMemoryMap parent = Build();
        parent.WriteByte(A(0x1_0005), 0x42);
        parent.WriteByte(A(0x2_0005), 0x43);
        PhysicalMemoryMap child = Build();
        parent.ShareRamInto(child);

        child.RestoreRamPage("low", 0x10, []);          // page of 0x1_0000: zeros in the child only
        child.RestoreRam("low", new Dictionary<long, byte[]>());   // and everything else
        Assert.Equal(0, child.ReadByte(A(0x1_0005)));
        Assert.Equal(0, child.ReadByte(A(0x2_0005)));
        Assert.Equal(0x42, parent.ReadByte(A(0x1_0005)));
        Assert.Equal(0x43, parent.ReadByte(A(0x2_0005)));
    }

    [Fact]
    public void ReleasedRamReadsAsZerosAndLeavesSharedChunksToTheOtherMap()
    {
        PhysicalMemoryMap parent = Build();
        parent.WriteByte(A(0x4_0001), 0x61);
        PhysicalMemoryMap child = Build();
        parent.ShareRamInto(child);

        parent.ReleaseRam();
        Assert.Equal(0, parent.ReadByte(A(0x4_0001)));
        Assert.Equal(0, child.SharedRamBytes);
        child.WriteByte(A(0x4_0002), 0x62);            // the last holder: no copy
        Assert.Equal(0, child.CopiedOnWritePageCount);
        Assert.Equal(0x61, child.ReadByte(A(0x4_0001)));
    }

    [Fact]
    public void ForksOfForksShareUntilEachWrites()
    {
        PhysicalMemoryMap a = Build();
        a.WriteByte(A(0x8_0000), 1);
        PhysicalMemoryMap b = Build();
        a.ShareRamInto(b);
        PhysicalMemoryMap c = Build();
        b.ShareRamInto(c);

        b.WriteByte(A(0x8_0000), 2);
        Assert.Equal(1, b.CopiedOnWritePageCount);
        Assert.Equal(Chunk, a.SharedRamBytes);          // all three still hold the chunk
        c.WriteByte(A(0x8_0000), 3);
        Assert.Equal(1, c.CopiedOnWritePageCount);
        a.WriteByte(A(0x8_0001), 9);
        Assert.Equal(1, a.CopiedOnWritePageCount);
        Assert.Equal([1, 2, 3], new[] { a.ReadByte(A(0x8_0000)), b.ReadByte(A(0x8_0000)), c.ReadByte(A(0x8_0000)) });
    }

    [Fact]
    public void AMapOfAnotherLayoutIsRefusedWithoutChange()
    {
        PhysicalMemoryMap parent = Build();
        parent.WriteByte(A(0x100), 1);
        PhysicalMemoryMap other = Build(lowSize: 0x8_0000);
        other.WriteByte(A(0x100), 2);
        ArgumentException e = Assert.Throws<ArgumentException>(() => parent.ShareRamInto(other));
        Assert.Contains("'low'", e.Message, StringComparison.Ordinal);
        Assert.Equal(2, other.ReadByte(A(0x100)));
        Assert.Throws<ArgumentException>(() => parent.ShareRamInto(parent));
    }

    [Fact]
    public async Task TwoMapsWritingSharedChunksOnTwoThreadsEachKeepTheirOwnBytes()
    {
        const int Chunks = 64;
        PhysicalMemoryMap parent = Build(lowSize: Chunks * (ulong)Chunk);
        for (int chunk = 0; chunk < Chunks; chunk++)
        {
            parent.WriteByte(A((ulong)chunk * Chunk), 0x10);
        }

        PhysicalMemoryMap child = Build(lowSize: Chunks * (ulong)Chunk);
        parent.ShareRamInto(child);
        // Every page of every chunk on both sides, at once: each side copies pages, lets go of a chunk once it copied all
        // of them, or takes a chunk back when the other side let go first.
        static void Fill(PhysicalMemoryMap map, byte value)
        {
            for (int chunk = 0; chunk < Chunks; chunk++)
            {
                for (int page = 0; page < PagesPerChunk; page++)
                {
                    map.WriteByte(A(((ulong)chunk * Chunk) + ((ulong)page * Page) + 1), value);
                }
            }
        }

        await Task.WhenAll(Task.Run(() => Fill(parent, 0xAA)), Task.Run(() => Fill(child, 0xBB)));
        for (int chunk = 0; chunk < Chunks; chunk++)
        {
            Assert.Equal(0x10, parent.ReadByte(A((ulong)chunk * Chunk)));
            Assert.Equal(0x10, child.ReadByte(A((ulong)chunk * Chunk)));
            for (int page = 0; page < PagesPerChunk; page++)
            {
                Assert.Equal(0xAA, parent.ReadByte(A(((ulong)chunk * Chunk) + ((ulong)page * Page) + 1)));
                Assert.Equal(0xBB, child.ReadByte(A(((ulong)chunk * Chunk) + ((ulong)page * Page) + 1)));
            }
        }

        Assert.Equal(0, parent.SharedRamBytes);
        Assert.Equal(0, child.SharedRamBytes);
    }
}
