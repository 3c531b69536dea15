using Virt.Memory;
using Xunit;

namespace Virt.Memory.Tests.Map;

public sealed class PhysicalMemoryMapTests
{
    private static PhysicalAddress A(ulong value) => new(value);

    [Fact]
    public void RamRoundTripsEveryWidth()
    {
        PhysicalMemoryMap map = new PhysicalMemoryMapBuilder().AddRam("ram", A(0), 0x10000).Build();
        map.WriteByte(A(0x10), 0xAB);
        map.WriteWord(A(0x20), 0xBEEF);
        map.WriteDoubleWord(A(0x30), 0xDEADBEEF);
        map.WriteQuadWord(A(0x40), 0x0123456789ABCDEF);
        Assert.Equal(0xAB, map.ReadByte(A(0x10)));
        Assert.Equal(0xBEEF, map.ReadWord(A(0x20)));
        Assert.Equal(0xDEADBEEFu, map.ReadDoubleWord(A(0x30)));
        Assert.Equal(0x0123456789ABCDEFUL, map.ReadQuadWord(A(0x40)));
        // Little-endian: the low byte of the word is at the lower address.
        Assert.Equal(0xEF, map.ReadByte(A(0x20)));
    }

    [Fact]
    public void UntouchedRamReadsZeroAndAllocatesNothing()
    {
        PhysicalMemoryMap map = new PhysicalMemoryMapBuilder().AddRam("ram", A(0), 1UL << 32).Build();
        Assert.Equal(0UL, map.ReadQuadWord(A(0xFFFF_0000)));
        Assert.Equal(0UL, map.ReadQuadWord(A(0x1234_5678)));
        Assert.Equal(0, map.AllocatedRamBytes);
    }

    [Fact]
    public void FourGibGuestTouchingTenMibCostsAboutTenMib()
    {
        // Allocations of this thread only: the live-heap delta (GC.GetTotalMemory) also sees whatever tests running in
        // parallel allocate or free, and made this test flaky.
        long before = GC.GetAllocatedBytesForCurrentThread();
        PhysicalMemoryMap map = new PhysicalMemoryMapBuilder().AddRam("ram", A(0), 1UL << 32).Build();
        const ulong touched = 10UL << 20;
        for (ulong a = 0; a < touched; a += 4096)
        {
            map.WriteDoubleWord(A(0x4000_0000 + a), (uint)a);
        }

        long cost = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal((long)touched, map.AllocatedRamBytes);
        // Host cost: the touched chunks plus bookkeeping (the page-table directory, a chunk group of 16 KiB per
        // touched 64 MiB, a dirty-bit block of 8 KiB per touched 256 MiB, page tables for the touched 4 MiB spans).
        Assert.InRange(cost, (long)touched, (long)touched + (4L << 20));
        GC.KeepAlive(map);
    }

    [Fact]
    public void UnmappedReadsAllOnesAndIsCounted()
    {
        PhysicalMemoryMap map = new PhysicalMemoryMapBuilder().AddRam("ram", A(0), 0x1000).Build();
        Assert.Equal(0xFFFFFFFFu, map.ReadDoubleWord(A(0x5000)));
        map.WriteWord(A(0x6000), 0x1234);
        Assert.Equal(4, map.Statistics.UnmappedReads);
        Assert.Equal(2, map.Statistics.UnmappedWrites);
    }

    [Fact]
    public void ABulkWriteOverHolesCountsEveryByteAndStillReachesTheRegionsInsideAndAfterThem()
    {
        var device = new RecordingMmioDevice(0x10, AccessWidths.Byte);
        PhysicalMemoryMap map = new PhysicalMemoryMapBuilder()
            .AddRam("ram", A(0), 0x1000)
            .AddMmio("small", A(0x3800), 0x10, device)       // a window in the middle of a page of the hole
            .AddRam("high", A(0x100_0000), 0x1000)
            .Build();
        byte[] data = new byte[0x100_0000 + 0x10 - 0x800];
        data.AsSpan().Fill(0x5A);

        map.Write(A(0x800), data);

        Assert.Equal(0x5A, map.ReadByte(A(0xFFF)));
        Assert.Equal(0x5A, map.ReadByte(A(0x100_000F)));
        Assert.Equal(0, map.ReadByte(A(0x100_0010)));
        Assert.Equal(0x10, device.Accesses.Count(a => a.IsWrite));
        Assert.All(device.Bytes, b => Assert.Equal(0x5A, b));
        Assert.Equal(0x100_0000 - 0x1000 - 0x10, map.Statistics.UnmappedWrites); // every byte of the holes, one by one or a page at once
    }

    [Fact]
    public void StrictModeThrowsOnUnmappedAccess()
    {
        PhysicalMemoryMap map = new PhysicalMemoryMapBuilder(new MemoryMapOptions { Strict = true }).AddRam("ram", A(0), 0x1000).Build();
        var e = Assert.Throws<UnmappedAccessException>(() => map.ReadByte(A(0x2000)));
        Assert.Contains("0x00002000", e.Message, StringComparison.Ordinal);
        Assert.Throws<UnmappedAccessException>(() => map.WriteByte(A(0x2000), 1));
    }

    [Fact]
    public void SpanAccessesAcrossRamHoleAndMmioCountHoleBytesAndReachTheDeviceByteByByte()
    {
        var device = new RecordingMmioDevice(0x1000, AccessWidths.Byte);
        PhysicalMemoryMap map = new PhysicalMemoryMapBuilder().AddRam("ram", A(0), 0x1000).AddMmio("dev", A(0x3000), 0x1000, device).Build();

        // 0x800 bytes of RAM, two pages of hole, 0x10 bytes of MMIO.
        byte[] source = Enumerable.Range(0, 0x2810).Select(i => (byte)(i + 1)).ToArray();
        map.Write(A(0x800), source);
        Assert.Equal(source[0x7FF], map.ReadByte(A(0xFFF)));
        Assert.Equal(0x2000, map.Statistics.UnmappedWrites);
        Assert.Equal(0x10, device.Accesses.Count);

        byte[] destination = new byte[0x1810];
        map.Read(A(0x1800), destination);
        Assert.All(destination[..0x1800], b => Assert.Equal(0xFF, b));
        Assert.Equal(0x1800, map.Statistics.UnmappedReads);
        Assert.Equal(0x20, device.Accesses.Count);
    }

    [Fact]
    public void StrictSpanAccessesThrowAtTheFirstHoleByteAfterTheRamPart()
    {
        PhysicalMemoryMap map = new PhysicalMemoryMapBuilder(new MemoryMapOptions { Strict = true }).AddRam("ram", A(0), 0x1000).Build();
        var e = Assert.Throws<UnmappedAccessException>(() => map.Write(A(0xFFE), new byte[] { 1, 2, 3, 4 }));
        Assert.Contains("0x00001000", e.Message, StringComparison.Ordinal);
        Assert.Equal(2, map.ReadByte(A(0xFFF)));
        Assert.Equal(1, map.Statistics.UnmappedWrites);
        e = Assert.Throws<UnmappedAccessException>(() => map.Read(A(0x1800), new byte[0x10]));
        Assert.Contains("0x00001800", e.Message, StringComparison.Ordinal);
        Assert.Equal(1, map.Statistics.UnmappedReads);
    }

    [Fact]
    public void RomIgnoresWritesAndCountsThem()
    {
        byte[] image = [1, 2, 3, 4];
        PhysicalMemoryMap map = new PhysicalMemoryMapBuilder().AddRom("bios", A(0xF0000), 0x10000, image).Build();
        map.WriteDoubleWord(A(0xF0000), 0xFFFFFFFF);
        Assert.Equal(0x04030201u, map.ReadDoubleWord(A(0xF0000)));
        Assert.Equal(0u, map.ReadDoubleWord(A(0xF0004)));
        Assert.Equal(1, map.Statistics.IgnoredRomWrites);
    }

    [Fact]
    public void AliasShowsTheSameBytesBothWays()
    {
        byte[] image = new byte[0x20000];
        image[^16] = 0xEA; // reset vector area
        PhysicalMemoryMap map = new PhysicalMemoryMapBuilder()
            .AddRam("ram", A(0), 0x10000)
            .AddAlias("ram-mirror", A(0x100000), 0x10000, "ram", new RegionOffset(0))
            .AddRom("bios", A(0xFFFE0000), 0x20000, image)
            .AddAlias("bios-low", A(0xE0000), 0x20000, "bios", new RegionOffset(0))
            .Build();
        Assert.Equal(0xEA, map.ReadByte(A(0xFFFF0)));
        Assert.Equal(0xEA, map.ReadByte(A(0xFFFFFFF0)));
        map.WriteDoubleWord(A(0x100010), 0xCAFEF00D);
        Assert.Equal(0xCAFEF00Du, map.ReadDoubleWord(A(0x10)));
        map.WriteByte(A(0x11), 0x99);
        Assert.Equal(0x99, map.ReadByte(A(0x100011)));
    }

    [Fact]
    public void A20DisabledWrapsAtOneMebibyte()
    {
        PhysicalMemoryMap map = new PhysicalMemoryMapBuilder().AddRam("ram", A(0), 0x200000).Build();
        map.WriteByte(A(0x100005), 0x11);
        map.WriteByte(A(0x000005), 0x22);
        map.A20Enabled = false;
        Assert.Equal(0x22, map.ReadByte(A(0x100005)));
        Assert.Equal(A(0x5), map.ApplyA20(A(0x100005)));
        // A word at FFFFFh with A20 off wraps: its high byte comes from 0.
        map.WriteByte(A(0xFFFFF), 0x33);
        map.WriteByte(A(0), 0x44);
        Assert.Equal(0x4433, map.ReadWord(A(0xFFFFF)));
        map.A20Enabled = true;
        Assert.Equal(0x11, map.ReadByte(A(0x100005)));
    }

    [Fact]
    public void A20ChangeInvalidatesObservers()
    {
        PhysicalMemoryMap map = new PhysicalMemoryMapBuilder().AddRam("ram", A(0), 0x1000).Build();
        var observer = new RecordingObserver();
        map.AddObserver(observer);
        map.A20Enabled = false;
        Assert.Single(observer.Invalidations);
        Assert.True(observer.Invalidations[0].ContentChanged);
    }

    [Fact]
    public void PageCrossingAccessEqualsBytewiseComposition()
    {
        var mmio = new RecordingMmioDevice(0x1000, AccessWidths.All);
        PhysicalMemoryMap map = new PhysicalMemoryMapBuilder()
            .AddRam("ram", A(0), 0x2000)
            .AddMmio("dev", A(0x2000), 0x1000, mmio)
            .Build();
        mmio.Bytes[0] = 0x77;
        mmio.Bytes[1] = 0x66;
        map.WriteByte(A(0xFFF), 0x11);
        map.WriteByte(A(0x1000), 0x22);
        map.WriteByte(A(0x1FFF), 0x88);
        Assert.Equal(0x2211, map.ReadWord(A(0xFFF)));
        // RAM into MMIO: each byte goes to its own region.
        Assert.Equal(0x667788u, map.ReadDoubleWord(A(0x1FFF)) & 0xFFFFFF);
        map.WriteDoubleWord(A(0x1FFE), 0xA1B2C3D4);
        Assert.Equal(0xC3D4, map.ReadWord(A(0x1FFE)));
        Assert.Equal(0xB2, mmio.Bytes[0]);
        Assert.Equal(0xA1, mmio.Bytes[1]);
    }

    [Fact]
    public void MmioNarrowerThanSupportedIsMergedFromWiderAccesses()
    {
        var dev = new RecordingMmioDevice(0x100, AccessWidths.DoubleWord);
        PhysicalMemoryMap map = new PhysicalMemoryMapBuilder().AddMmio("dev", A(0xFEC00000), 0x100, dev).Build();
        map.WriteDoubleWord(A(0xFEC00010), 0x44332211);
        Assert.Equal(0x33, map.ReadByte(A(0xFEC00012)));
        map.WriteByte(A(0xFEC00011), 0xAA);
        Assert.Equal(0x4433AA11u, map.ReadDoubleWord(A(0xFEC00010)));
        // The byte write became a read-modify-write of the containing double word.
        Assert.Contains(dev.Accesses, a => a.IsWrite && a.Offset == 0x10 && a.Size == 4 && a.Value == 0x4433AA11);
        // A quad word is split into two double words, low first.
        map.WriteQuadWord(A(0xFEC00020), 0x8877665544332211);
        Assert.Equal((true, 0x20UL, 4, 0x44332211UL), dev.Accesses[^2]);
        Assert.Equal((true, 0x24UL, 4, 0x88776655UL), dev.Accesses[^1]);
    }

    [Fact]
    public void MmioByteOnlyDeviceSeesWordAsTwoBytesInOrder()
    {
        var dev = new RecordingMmioDevice(0x10, AccessWidths.Byte);
        PhysicalMemoryMap map = new PhysicalMemoryMapBuilder().AddMmio("dev", A(0x1000), 0x10, dev).Build();
        map.WriteWord(A(0x1003), 0xBBAA);
        Assert.Equal([(true, 3UL, 1, 0xAAUL), (true, 4UL, 1, 0xBBUL)], dev.Accesses);
    }

    [Fact]
    public void MoveRegionTakesEffectImmediately()
    {
        var dev = new RecordingMmioDevice(0x1000, AccessWidths.All);
        dev.Bytes[0] = 0x5A;
        PhysicalMemoryMap map = new PhysicalMemoryMapBuilder()
            .AddRam("ram", A(0), 0x10000)
            .AddMmio("bar0", A(0xE0000000), 0x1000, dev)
            .Build();
        var observer = new RecordingObserver();
        map.AddObserver(observer);
        Assert.Equal(0x5A, map.ReadByte(A(0xE0000000)));
        map.MoveRegion("bar0", A(0xE1000000));
        Assert.Equal(0xFF, map.ReadByte(A(0xE0000000)));
        Assert.Equal(0x5A, map.ReadByte(A(0xE1000000)));
        Assert.Contains(observer.Invalidations, i => i.Range.Start == A(0xE0000000) && i.ContentChanged);
        var e = Assert.Throws<InvalidOperationException>(() => map.MoveRegion("bar0", A(0x8000)));
        Assert.Contains("'bar0'", e.Message, StringComparison.Ordinal);
        Assert.Contains("'ram'", e.Message, StringComparison.Ordinal);
        map.SetRegionEnabled("bar0", false);
        Assert.Equal(0xFF, map.ReadByte(A(0xE1000000)));
    }

    [Fact]
    public void ShadowRomSwitchesBetweenRomAndRamViews()
    {
        byte[] image = [0xAA, 0xBB];
        PhysicalMemoryMap map = new PhysicalMemoryMapBuilder().AddShadowableRom("bios", A(0xF0000), 0x10000, image).Build();
        map.WriteByte(A(0xF0000), 0x11); // ROM mode: ignored
        Assert.Equal(0xAA, map.ReadByte(A(0xF0000)));
        map.SetShadowMode("bios", ShadowMode.ReadRomWriteRam);
        // Firmware copies itself to its shadow: reads from ROM, writes to RAM.
        map.WriteByte(A(0xF0000), map.ReadByte(A(0xF0000)));
        map.WriteByte(A(0xF0001), 0x42);
        Assert.Equal(0xBB, map.ReadByte(A(0xF0001)));
        map.SetShadowMode("bios", ShadowMode.ReadWriteRam);
        Assert.Equal(0xAA, map.ReadByte(A(0xF0000)));
        Assert.Equal(0x42, map.ReadByte(A(0xF0001)));
        map.WriteByte(A(0xF0001), 0x43);
        Assert.Equal(0x43, map.ReadByte(A(0xF0001)));
        map.SetShadowMode("bios", ShadowMode.ReadFromRam); // write-protect the shadow
        map.WriteByte(A(0xF0001), 0x99);
        Assert.Equal(0x43, map.ReadByte(A(0xF0001)));
    }

    [Fact]
    public void DirtyPagesAreTrackedAndTaken()
    {
        PhysicalMemoryMap map = new PhysicalMemoryMapBuilder().AddRam("ram", A(0), 0x10000).Build();
        map.WriteByte(A(0x1000), 1);
        map.WriteByte(A(0x3FFF), 1);
        map.WriteByte(A(0x1001), 1); // fast path after the first write
        Assert.True(map.IsPageDirty(A(0x1000)));
        DirtyPageBitmap taken = map.TakeDirtyPages("ram");
        Assert.Equal([1L, 3L], taken.EnumerateDirtyPages());
        Assert.False(map.IsPageDirty(A(0x1000)));
        // After taking, a write through the (formerly fast) page must mark it again.
        map.WriteByte(A(0x1002), 1);
        Assert.Equal([1L], map.TakeDirtyPages("ram").EnumerateDirtyPages());
    }

    [Fact]
    public void CodePageWritesAreReportedAtEveryAlias()
    {
        PhysicalMemoryMap map = new PhysicalMemoryMapBuilder()
            .AddRam("ram", A(0), 0x10000)
            .AddAlias("mirror", A(0x80000), 0x10000, "ram", new RegionOffset(0))
            .Build();
        var observer = new RecordingObserver();
        map.AddObserver(observer);
        map.WriteByte(A(0x2000), 0x90); // page becomes dirty and fast-writable
        map.MarkCodePage(A(0x2000));
        Assert.True(map.IsCodePage(A(0x82000)));
        observer.CodeWrites.Clear();
        map.WriteWord(A(0x82010), 0xCCCC);
        Assert.Contains((A(0x2010), 2), observer.CodeWrites);
        Assert.Contains((A(0x82010), 2), observer.CodeWrites);
        // Pages without code pay nothing: no notifications.
        observer.CodeWrites.Clear();
        map.WriteWord(A(0x3000), 1);
        Assert.Empty(observer.CodeWrites);
        map.UnmarkCodePage(A(0x2000));
        map.WriteWord(A(0x2010), 1);
        Assert.Empty(observer.CodeWrites);
    }

    [Fact]
    public void HostPagesAreGivenForRamOnly()
    {
        var dev = new RecordingMmioDevice(0x1000, AccessWidths.All);
        PhysicalMemoryMap map = new PhysicalMemoryMapBuilder()
            .AddRam("ram", A(0), 0x10000)
            .AddRom("rom", A(0x10000), 0x1000, [1])
            .AddMmio("dev", A(0x20000), 0x1000, dev)
            .Build();
        Assert.True(map.TryGetHostPage(A(0x1234), forWrite: true, out nint ram));
        Assert.NotEqual(0, ram);
        Assert.True(map.IsPageDirty(A(0x1000)));
        Assert.True(map.TryGetHostPage(A(0x10000), forWrite: false, out _));
        Assert.False(map.TryGetHostPage(A(0x10000), forWrite: true, out _));
        Assert.False(map.TryGetHostPage(A(0x20000), forWrite: false, out _));
        Assert.False(map.TryGetHostPage(A(0x90000), forWrite: false, out _));
        map.MarkCodePage(A(0x1000));
        Assert.False(map.TryGetHostPage(A(0x1000), forWrite: true, out _));
        Assert.True(map.TryGetHostPage(A(0x1000), forWrite: false, out _));
    }

    [Fact]
    public void DmaHonoursHoles()
    {
        var dev = new RecordingMmioDevice(0x1000, AccessWidths.All);
        PhysicalMemoryMap map = new PhysicalMemoryMapBuilder()
            .AddRam("ram", A(0), 0x1000)
            .AddMmio("dev", A(0x2000), 0x1000, dev)
            .Build();
        byte[] data = [.. Enumerable.Range(0, 0x3000).Select(i => (byte)i)];
        map.Write(A(0), data);
        byte[] back = new byte[0x3000];
        map.Read(A(0), back);
        Assert.Equal(data.AsSpan(0, 0x1000).ToArray(), back.AsSpan(0, 0x1000).ToArray());
        Assert.All(back.AsSpan(0x1000, 0x1000).ToArray(), b => Assert.Equal(0xFF, b));
        Assert.Equal(data.AsSpan(0x2000, 0x1000).ToArray(), dev.Bytes);
        Assert.Equal(data.AsSpan(0x2000, 0x1000).ToArray(), back.AsSpan(0x2000, 0x1000).ToArray());
    }
}
