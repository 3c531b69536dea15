using Virt.Memory;
using Xunit;

namespace Virt.Memory.Tests.Map;

/// <summary>
/// The host cost of a memory map grows with the RAM the guest touches, not with the RAM it has: chunk index,
/// dirty bits and code marks are all allocated per touched block.
/// </summary>
public sealed class LazyRamCostTests
{
    private const ulong OneTebibyte = 1UL << 40;

    private static PhysicalAddress A(ulong value) => new(value);

    [Fact]
    public void BuildingOneTibOfRamAllocatesLessThanOneMib()
    {
        long before = GC.GetAllocatedBytesForCurrentThread();
        PhysicalMemoryMap map = new PhysicalMemoryMapBuilder().AddRam("ram", A(0), OneTebibyte).Build();
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        // The fixed costs are the page-table directory (128 KiB), the chunk-group directory of 1 TiB / 64 MiB
        // groups (128 KiB) and two bit-block directories of 1 TiB / 256 MiB blocks (32 KiB each). A flat
        // per-page layout costs 545 MiB here, so the bound fails loudly if one comes back.
        Assert.InRange(allocated, 0, 1L << 20);
        Assert.Equal(0, map.AllocatedRamBytes);
    }

    [Fact]
    public void TouchingTheTopPageOfOneTibAllocatesOneChunkAndSmallMetadata()
    {
        PhysicalMemoryMap map = new PhysicalMemoryMapBuilder().AddRam("ram", A(0), OneTebibyte).Build();
        ulong top = OneTebibyte - PhysicalMemoryMap.PageSizeInBytes;
        long before = GC.GetAllocatedBytesForCurrentThread();
        map.WriteQuadWord(A(top + 8), 0x1122_3344_5566_7788);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(0x1122_3344_5566_7788UL, map.ReadQuadWord(A(top + 8)));
        Assert.Equal(0UL, map.ReadQuadWord(A(top - 0x10_0000)));
        Assert.Equal(PhysicalMemoryMap.RamChunkSizeInBytes, map.AllocatedRamBytes);
        Assert.True(map.IsPageDirty(A(top)));
        Assert.False(map.IsPageDirty(A(top - PhysicalMemoryMap.PageSizeInBytes)));

        // One 64 KiB chunk, one chunk group (16 KiB of index) and one dirty-bit block (8 KiB), plus small change.
        Assert.InRange(allocated, PhysicalMemoryMap.RamChunkSizeInBytes, PhysicalMemoryMap.RamChunkSizeInBytes + (64L << 10));
    }

    [Fact]
    public void ReadingUntouchedRamAboveTheFastTableAllocatesNothing()
    {
        // 64 GiB and up is past the map's page table, so these reads take the slow path every time.
        PhysicalMemoryMap map = new PhysicalMemoryMapBuilder().AddRam("ram", A(0), OneTebibyte).Build();
        byte[] buffer = new byte[3 * PhysicalMemoryMap.PageSizeInBytes];
        buffer.AsSpan().Fill(0xCC);
        map.Read(A(0x80_0000_0800), buffer);
        Assert.All(buffer, b => Assert.Equal(0, b));
        Assert.Equal(0UL, map.ReadDoubleWord(A(0xF0_0000_0FFE)));
        Assert.Equal(0, map.AllocatedRamBytes);
    }

    [Fact]
    public void CodeMarksAndDirtyBitsWorkFarApartInOneRegion()
    {
        var observer = new RecordingObserver();
        PhysicalMemoryMap map = new PhysicalMemoryMapBuilder().AddRam("ram", A(0), OneTebibyte).Build();
        map.AddObserver(observer);
        ulong low = 0x1000;
        ulong high = 0xAB_CDEF_0000;
        map.MarkCodePage(A(low));
        map.MarkCodePage(A(high));
        Assert.True(map.IsCodePage(A(high + 0xFFF)));
        Assert.False(map.IsCodePage(A(high + 0x1000)));

        map.WriteByte(A(high + 5), 0x90);
        map.WriteByte(A(low + 7), 0x90);
        Assert.Contains(observer.CodeWrites, w => w.Address == A(high + 5));
        Assert.Contains(observer.CodeWrites, w => w.Address == A(low + 7));

        map.UnmarkCodePage(A(high));
        Assert.False(map.IsCodePage(A(high)));
        Assert.True(map.IsCodePage(A(low)));

        DirtyPageBitmap dirty = map.TakeDirtyPages("ram");
        Assert.Equal([(long)(low >> 12), (long)(high >> 12)], dirty.EnumerateDirtyPages());
        Assert.Equal(2, dirty.DirtyCount);
        Assert.Equal((long)(OneTebibyte >> 12), dirty.PageCount);
        Assert.Equal(0, map.TakeDirtyPages("ram").DirtyCount);
    }

    [Fact]
    public unsafe void TlbStyleReadPointerOfUntouchedRamIsTheZeroPageUntilAWriteAllocatesTheChunk()
    {
        var observer = new RecordingObserver();
        PhysicalMemoryMap map = new PhysicalMemoryMapBuilder().AddRam("ram", A(0), OneTebibyte).Build();
        map.AddObserver(observer);
        ulong page = 0x12_3456_0000; // above the map's own page table: only the CPU's TLB would cache it
        ulong neighbour = page + PhysicalMemoryMap.PageSizeInBytes; // same 64 KiB chunk

        // A CPU's TLB fill for a read: a host pointer to zeros, and nothing allocated.
        Assert.True(map.TryGetHostPage(A(page), forWrite: false, out nint zeroPage));
        Assert.Equal(0UL, *(ulong*)(zeroPage + 0x100));
        Assert.Equal(0, map.AllocatedRamBytes);

        // The first write anywhere in the chunk allocates it and invalidates the translations of the whole chunk,
        // so the TLB entry above is dropped before it could show stale zeros.
        map.WriteDoubleWord(A(page + 0x100), 0xCAFE_F00D);
        Assert.Equal(PhysicalMemoryMap.RamChunkSizeInBytes, map.AllocatedRamBytes);
        Assert.Contains(observer.Invalidations, i => i.Range.Contains(A(page)) && i.Range.Contains(A(neighbour)));
        Assert.True(map.TryGetHostPage(A(page), forWrite: false, out nint ram));
        Assert.NotEqual(zeroPage, ram);
        Assert.Equal(0xCAFE_F00Du, *(uint*)(ram + 0x100));

        // A TLB fill for a write allocates too, and the pointer writes the guest's bytes.
        ulong other = 0x40_0000_0000;
        Assert.True(map.TryGetHostPage(A(other), forWrite: true, out nint writable));
        *(ushort*)(writable + 2) = 0xBEEF;
        Assert.Equal(0xBEEF, map.ReadWord(A(other + 2)));
        Assert.True(map.IsPageDirty(A(other)));
        Assert.Equal(2L * PhysicalMemoryMap.RamChunkSizeInBytes, map.AllocatedRamBytes);
    }
}
