using FsCheck;
using FsCheck.Xunit;
using Virt.Memory;
using Xunit;

namespace Virt.Memory.Tests.Map;

/// <summary>Properties of the memory map against obviously-correct oracles.</summary>
public sealed class PhysicalMemoryMapProperties
{
    private static readonly int[] s_sizes = [1, 2, 4, 8];

    private static PhysicalAddress A(ulong value) => new(value);

    // Any width at any address of RAM (including page-crossing ones) reads back what was written.
    [Property(MaxTest = 500)]
    public bool WriteThenReadRoundTrips(ushort rawAddress, byte sizeIndex, ulong value)
    {
        int size = s_sizes[sizeIndex % 4];
        PhysicalMemoryMap map = new PhysicalMemoryMapBuilder().AddRam("ram", A(0), 0x11000).Build();
        ulong address = rawAddress;
        map.Write(A(address), size, value);
        ulong mask = size == 8 ? ulong.MaxValue : (1UL << (8 * size)) - 1;
        return map.Read(A(address), size) == (value & mask);
    }

    // An access of any width equals the composition of its bytes read one by one, wherever it
    // falls: RAM, ROM, MMIO of any supported widths, holes, and across their boundaries.
    [Property(MaxTest = 500)]
    public bool AccessEqualsBytewiseComposition(ushort offsetNearBoundary, byte sizeIndex, byte widths, int seed)
    {
        int size = s_sizes[sizeIndex % 4];
        PhysicalMemoryMap map = MixedMap(seed, (AccessWidths)((widths % 15) + 1), out _);
        ulong address = 0x1000UL * (ulong)(offsetNearBoundary % 8) + 0xFF8 + (ulong)(offsetNearBoundary >> 13);
        ulong composed = 0;
        for (int i = 0; i < size; i++)
        {
            composed |= (ulong)map.ReadByte(A(address + (ulong)i)) << (8 * i);
        }

        return map.Read(A(address), size) == composed;
    }

    // A write of any width lands exactly as the same bytes written one by one.
    [Property(MaxTest = 300)]
    public bool WriteEqualsBytewiseWrites(ushort offsetNearBoundary, byte sizeIndex, byte widths, ulong value, int seed)
    {
        int size = s_sizes[sizeIndex % 4];
        var aw = (AccessWidths)((widths % 15) + 1);
        PhysicalMemoryMap wide = MixedMap(seed, aw, out RecordingMmioDevice wideDevice);
        PhysicalMemoryMap narrow = MixedMap(seed, aw, out RecordingMmioDevice narrowDevice);
        ulong address = 0x1000UL * (ulong)(offsetNearBoundary % 8) + 0xFF8 + (ulong)(offsetNearBoundary >> 13);
        wide.Write(A(address), size, value);
        for (int i = 0; i < size; i++)
        {
            narrow.WriteByte(A(address + (ulong)i), (byte)(value >> (8 * i)));
        }

        byte[] w = new byte[0x8000];
        byte[] n = new byte[0x8000];
        wide.Read(A(0), w);
        narrow.Read(A(0), n);
        return w.AsSpan().SequenceEqual(n) && wideDevice.Bytes.AsSpan().SequenceEqual(narrowDevice.Bytes);
    }

    // Untouched lazily allocated RAM reads zero at every width.
    [Property(MaxTest = 200)]
    public bool UntouchedRamReadsZero(uint page, ushort offset, byte sizeIndex)
    {
        PhysicalMemoryMap map = new PhysicalMemoryMapBuilder().AddRam("ram", A(0), 1UL << 32).Build();
        ulong address = ((ulong)(page % 0xFFFFF) << 12) + (ulong)(offset % 4089);
        return map.Read(A(address), s_sizes[sizeIndex % 4]) == 0 && map.AllocatedRamBytes == 0;
    }

    // Dirty bits over a sparse terabyte: taking them yields exactly the pages written, sorted, once each,
    // whichever bit blocks they fall in; code marks set on some of them do not disturb that.
    [Property(MaxTest = 100)]
    public bool DirtyPagesOfOneTibAreExactlyThePagesWritten(uint[] rawPages, bool markCode)
    {
        PhysicalMemoryMap map = new PhysicalMemoryMapBuilder().AddRam("ram", A(0), 1UL << 40).Build();
        long[] pages = [.. (rawPages ?? []).Take(64).Select(p => (long)(((ulong)p * 64) % (1UL << 28)))];
        foreach (long page in pages)
        {
            if (markCode)
            {
                map.MarkCodePage(A((ulong)page << 12));
            }

            map.WriteByte(A(((ulong)page << 12) + 0x123), 1);
        }

        long[] expected = [.. pages.Distinct().Order()];
        DirtyPageBitmap taken = map.TakeDirtyPages("ram");
        return taken.EnumerateDirtyPages().SequenceEqual(expected)
            && taken.DirtyCount == expected.Length
            && pages.All(p => map.IsCodePage(A((ulong)p << 12)) == markCode)
            && map.TakeDirtyPages("ram").DirtyCount == 0;
    }

    // With A20 disabled every access behaves as the access at the address with bit 20 cleared.
    [Property(MaxTest = 300)]
    public bool A20MasksBit20(uint rawAddress, byte value)
    {
        PhysicalMemoryMap map = new PhysicalMemoryMapBuilder().AddRam("ram", A(0), 0x400000).Build();
        ulong address = rawAddress % 0x3FFFFF;
        map.A20Enabled = false;
        map.WriteByte(A(address), value);
        map.A20Enabled = true;
        ulong masked = address & ~(1UL << 20);
        return map.ReadByte(A(masked)) == value && (masked == address || map.ReadByte(A(address)) == 0);
    }

    // Region lookup agrees with a linear scan over random non-overlapping layouts.
    [Property(MaxTest = 200)]
    public bool LookupEqualsLinearScan(int seed, uint probe)
    {
        var random = new Random(seed);
        var builder = new PhysicalMemoryMapBuilder();
        var ranges = new List<(string Name, ulong Start, ulong Last)>();
        ulong cursor = 0;
        int count = random.Next(1, 12);
        for (int i = 0; i < count; i++)
        {
            cursor += (ulong)random.Next(0, 4) * 0x1000;
            ulong size = (ulong)random.Next(1, 5) * 0x1000;
            string name = "r" + i;
            switch (random.Next(3))
            {
                case 0: builder.AddRam(name, A(cursor), size); break;
                case 1: builder.AddRom(name, A(cursor), size, []); break;
                default: builder.AddMmio(name, A(cursor), size, new RecordingMmioDevice((int)size, AccessWidths.Byte)); break;
            }

            ranges.Add((name, cursor, cursor + size - 1));
            cursor += size;
        }

        PhysicalMemoryMap map = builder.Build();
        ulong address = probe % (cursor + 0x2000);
        string? expected = ranges.FirstOrDefault(r => address >= r.Start && address <= r.Last).Name;
        return map.FindRegion(A(address))?.Name == expected;
    }

    // Build rejects a layout exactly when two regions intersect.
    [Property(MaxTest = 300)]
    public bool OverlapRejectedExactlyWhenRangesIntersect(byte start1, byte pages1, byte start2, byte pages2)
    {
        ulong s1 = (ulong)start1 * 0x1000, s2 = (ulong)start2 * 0x1000;
        ulong z1 = ((ulong)(pages1 % 16) + 1) * 0x1000, z2 = ((ulong)(pages2 % 16) + 1) * 0x1000;
        bool intersects = s1 <= s2 + z2 - 1 && s2 <= s1 + z1 - 1;
        var builder = new PhysicalMemoryMapBuilder().AddRam("a", A(s1), z1).AddRam("b", A(s2), z2);
        try
        {
            builder.Build();
            return !intersects;
        }
        catch (InvalidOperationException)
        {
            return intersects;
        }
    }

    // MMIO splitting: whatever the device's widths, a write delivers each byte to the right offset
    // and the device sees its accesses in ascending address order, each naturally aligned.
    [Property(MaxTest = 500)]
    public bool MmioWidthSplittingDeliversBytesInOrder(byte widths, byte offset, byte sizeIndex, ulong value)
    {
        var device = new RecordingMmioDevice(0x110, (AccessWidths)((widths % 15) + 1));
        PhysicalMemoryMap map = new PhysicalMemoryMapBuilder().AddMmio("dev", A(0x10000), 0x110, device).Build();
        int size = s_sizes[sizeIndex % 4];
        map.Write(A(0x10000UL + offset), size, value);
        for (int i = 0; i < size; i++)
        {
            if (device.Bytes[offset + i] != (byte)(value >> (8 * i)))
            {
                return false;
            }
        }

        // Bytes outside the written range stay zero (merges wrote back what they read).
        for (int i = 0; i < device.Bytes.Length; i++)
        {
            if ((i < offset || i >= offset + size) && device.Bytes[i] != 0)
            {
                return false;
            }
        }

        var writes = device.Accesses.Where(a => a.IsWrite).Select(a => a.Offset).ToList();
        return writes.SequenceEqual(writes.Order()) && map.Read(A(0x10000UL + offset), size) == (size == 8 ? value : value & ((1UL << (8 * size)) - 1));
    }

    /// <summary>Pages 0-7: a seeded mix of RAM, ROM, MMIO and holes (pages 0 and 1 are always RAM).</summary>
    private static PhysicalMemoryMap MixedMap(int seed, AccessWidths mmioWidths, out RecordingMmioDevice device)
    {
        var random = new Random(seed);
        var builder = new PhysicalMemoryMapBuilder().AddRam("ram0", A(0), 0x2000);
        device = new RecordingMmioDevice(0x1000, mmioWidths);
        bool mmioPlaced = false;
        for (int page = 2; page < 8; page++)
        {
            byte[] image = new byte[0x1000];
            random.NextBytes(image);
            switch (random.Next(4))
            {
                case 0: builder.AddRam("p" + page, A((ulong)page * 0x1000), 0x1000); break;
                case 1: builder.AddRom("p" + page, A((ulong)page * 0x1000), 0x1000, image); break;
                case 2 when !mmioPlaced:
                    random.NextBytes(device.Bytes);
                    builder.AddMmio("p" + page, A((ulong)page * 0x1000), 0x1000, device);
                    mmioPlaced = true;
                    break;
                default: break; // hole
            }
        }

        PhysicalMemoryMap map = builder.Build();
        byte[] ram = new byte[0x2000];
        random.NextBytes(ram);
        map.Write(A(0), ram);
        return map;
    }
}
