using FsCheck.Xunit;
using Virt.Machine.Boot;
using Virt.Memory;

namespace Virt.Machine.Tests.Boot;

/// <summary>Where the Multiboot loader puts what it adds, for random kernels, modules and RAM sizes.</summary>
public sealed class MultibootPlacementProperties
{
    private const ulong MiB = 1024 * 1024;

    // For any layout of kernel segments in RAM, any modules and command line and any RAM size, a successful load puts
    // every module and piece of boot information in e820 RAM below 4 GiB, clear of every kernel segment, of each other
    // and of the firmware areas (0-4FFh, EBDA to 1 MiB), leaves the kernel's bytes intact, and points the information
    // structure at them. A failed load names a piece that did not fit and writes nothing.
    [Property(MaxTest = 200)]
    public bool PlacedPiecesStayInFreeRamAndThePointersFindThem(int seed)
    {
        var random = new Random(seed);
        ulong ramBytes = random.Next(8) switch
        {
            0 => 2 * MiB,
            1 => 4608 * MiB, // RAM above 4 GiB too: nothing may go there
            _ => (ulong)random.Next(2, 96) * MiB,
        };
        // Half the maps call everything below the RAM size RAM, firmware areas included, as some hosts' maps do: the
        // loader must still keep its data out of them.
        IReadOnlyList<E820Entry> map = random.Next(2) == 0
            ? E820Map.CreatePc(ramBytes)
            : [new E820Entry(new PhysicalAddress(0), Math.Min(ramBytes, E820Map.DefaultLowRamLimit), E820EntryType.Ram)];
        List<(ulong Start, ulong End)> ramBelow4G = [.. map.Where(e => e.Type == E820EntryType.Ram && e.Start.Value < E820Map.FourGigabytes)
            .Select(e => (e.Start.Value, Math.Min(e.LastAddress.Value + 1, E820Map.FourGigabytes)))];

        // Kernel segments: page-aligned, inside one RAM entry each, not overlapping; sometimes nearly filling an entry.
        var segments = new List<TestImages.Segment>();
        var kernelRanges = new List<(ulong Start, ulong End)>();
        int wanted = random.Next(1, 5);
        for (int attempt = 0; attempt < 20 && segments.Count < wanted; attempt++)
        {
            (ulong ramStart, ulong ramEnd) = ramBelow4G[random.Next(ramBelow4G.Count)];
            ulong pages = (ramEnd - ramStart) >> 12;
            ulong startPage = (ulong)random.NextInt64((long)pages);
            if (random.Next(3) == 0)
            {
                startPage = (ulong)random.Next(4); // from near the bottom of the entry, often over 0-4FFh or 500h
            }

            ulong maxPages = Math.Min(pages - startPage, random.Next(3) == 0 ? pages : 64);
            ulong sizeInBytes = (((ulong)random.NextInt64(1, (long)maxPages + 1)) << 12) - (ulong)random.Next(0x1000);
            ulong start = ramStart + (startPage << 12);
            if (start + sizeInBytes > ramEnd || kernelRanges.Any(r => start < r.End && r.Start < start + sizeInBytes))
            {
                continue;
            }

            byte[] data = TestImages.Pattern((int)Math.Min(sizeInBytes, 0x800), (byte)segments.Count);
            segments.Add(new TestImages.Segment((uint)start, data, (uint)sizeInBytes));
            kernelRanges.Add((start, start + sizeInBytes));
        }

        if (segments.Count == 0)
        {
            return true;
        }

        byte[][] moduleBytes = [.. Enumerable.Range(0, random.Next(4)).Select(i => TestImages.Pattern(random.Next(0x3000), (byte)(0x40 + i)))];
        string commandLine = new('c', random.Next(random.Next(4) == 0 ? 6000 : 100));
        byte[] kernel = TestImages.Elf32(segments[0].PhysicalAddress, segments);
        var memory = new SparseGuestMemory();
        MultibootLoadResult result;
        try
        {
            result = MultibootLoader.Load(memory, new MemoryStream(kernel), "kernel.elf", new MultibootOptions
            {
                MemoryMap = map,
                CommandLine = commandLine,
                Modules = [.. moduleBytes.Select((m, i) => new MultibootModuleSource(new MemoryStream(m), $"m{i}", $"m{i} arg"))],
            });
        }
        catch (BootImageException e)
        {
            return memory.WriteCount == 0 && e.Message.Contains("does not fit", StringComparison.Ordinal);
        }

        var placed = result.Regions.Where(r => !r.Name.StartsWith("program header", StringComparison.Ordinal)).ToList();
        foreach (BootRegion region in placed)
        {
            ulong first = region.Range.Start.Value;
            ulong end = region.Range.LastAddress.Value + 1;
            bool inRam = ramBelow4G.Any(r => first >= r.Start && end <= r.End);
            bool clearOfKernel = kernelRanges.All(r => end <= r.Start || first >= r.End);
            bool clearOfFirmware = first >= 0x500 && (end <= E820Map.ConventionalRamEnd || first >= E820Map.ExtendedMemoryStart);
            bool clearOfOthers = placed.All(o => o == region || end <= o.Range.Start.Value || first > o.Range.LastAddress.Value);
            if (!inRam || !clearOfKernel || !clearOfFirmware || !clearOfOthers)
            {
                return false;
            }
        }

        // The kernel's bytes are intact; the information structure and what it points to are where the regions say.
        if (segments.Any(s => !memory.ReadBytes(s.PhysicalAddress, s.Data.Length).AsSpan().SequenceEqual(s.Data)))
        {
            return false;
        }

        ulong mbi = result.InfoAddress.Value;
        bool Within(ulong address, string name) => placed.Any(r => r.Name == name && r.Range.Contains(new PhysicalAddress(address)));
        ulong mods = memory.U32(mbi + 24);
        return result.Entry.Ebx == mbi
            && Within(mbi, "multiboot info structure")
            && Within(memory.U32(mbi + 48), "multiboot memory map")
            && memory.U32(mbi + 44) == map.Count * 24
            && memory.CString(memory.U32(mbi + 16)) == commandLine
            && memory.CString(memory.U32(mbi + 64)) == MultibootLoader.BootLoaderName
            && memory.U32(mbi + 20) == moduleBytes.Length
            && moduleBytes.Select((m, i) => (m, i)).All(x =>
                memory.U32(mods + ((ulong)x.i * 16)) % 0x1000 == 0
                && memory.ReadBytes(memory.U32(mods + ((ulong)x.i * 16)), x.m.Length).AsSpan().SequenceEqual(x.m)
                && memory.U32(mods + ((ulong)x.i * 16) + 4) - memory.U32(mods + ((ulong)x.i * 16)) == x.m.Length
                && memory.CString(memory.U32(mods + ((ulong)x.i * 16) + 8)) == $"m{x.i} arg");
    }
}
