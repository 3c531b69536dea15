using FsCheck.Xunit;
using Virt.Memory;
using Xunit;

namespace Virt.Memory.Tests.Map;

/// <summary>Copy-on-write sharing against a model of independent byte arrays, one per map.</summary>
public sealed class PhysicalMemoryMapCopyOnWriteProperties
{
    private const ulong RamSize = 4 * PhysicalMemoryMap.RamChunkSizeInBytes;
    private const int MaxMaps = 4;

    // Random forks, releases, writes (through the map, and through write pointers cached as a CPU's TLB caches them,
    // dropped when the map says so), page restores and whole-chunk reads on a family of maps: every map always reads
    // exactly its own model.
    [Property(MaxTest = 500)]
    public bool ForkedMapsBehaveAsIndependentCopies(uint[] operations)
    {
        var maps = new List<Member> { new(Build(), new byte[RamSize]) };
        foreach (uint raw in operations ?? [])
        {
            // FsCheck's integers are small at first: spread their bits over every field (Knuth's multiplicative hash).
            uint op = unchecked(raw * 0x9E3779B1u);
            Member target = maps[(int)((op >> 2) % (uint)maps.Count)];
            // Two pages in each of the four chunks, so that operations often meet on one page.
            ulong page = (((op >> 5) & 7) >> 1) * (PhysicalMemoryMap.RamChunkSizeInBytes / PhysicalMemoryMap.PageSizeInBytes) + ((op >> 5) & 1);
            ulong address = (page << PhysicalMemoryMap.PageShift) + ((op >> 8) & PhysicalMemoryMap.PageOffsetMask);
            byte value = (byte)(op >> 24);
            switch (op & 3)
            {
                case 0 when maps.Count < MaxMaps:
                    var fork = new Member(Build(), (byte[])target.Model.Clone());
                    target.Map.ShareRamInto(fork.Map);
                    maps.Add(fork);
                    break;
                case 1 when maps.Count > 1 && value < 16:
                    target.Map.ReleaseRam();
                    maps.Remove(target);
                    break;
                case 2 when value < 8:
                    // A rewind's page restore: the page reads as zeros afterwards, in this map only.
                    target.Map.RestoreRamPage("ram", (long)(address >> PhysicalMemoryMap.PageShift), []);
                    target.Model.AsSpan((int)(address & ~PhysicalMemoryMap.PageOffsetMask), PhysicalMemoryMap.PageSizeInBytes).Clear();
                    break;
                case 2:
                    target.WriteThroughTlb(address, value);
                    break;
                case 3 when value < 8:
                    // A snapshot's or checkpoint's view of a whole chunk (partly copied chunks are made one array).
                    long chunk = (long)(address / PhysicalMemoryMap.RamChunkSizeInBytes);
                    ReadOnlySpan<byte> seen = target.Map.PeekRamChunk("ram", chunk);
                    ReadOnlySpan<byte> expected = target.Model.AsSpan((int)chunk * PhysicalMemoryMap.RamChunkSizeInBytes, PhysicalMemoryMap.RamChunkSizeInBytes);
                    if (seen.IsEmpty ? expected.ContainsAnyExcept((byte)0) : !seen.SequenceEqual(expected))
                    {
                        return false;
                    }

                    break;
                default:
                    target.Map.WriteByte(new PhysicalAddress(address), value);
                    target.Model[address] = value;
                    break;
            }
        }

        byte[] bytes = new byte[RamSize];
        foreach (Member member in maps)
        {
            member.Map.Read(default, bytes);
            if (!bytes.AsSpan().SequenceEqual(member.Model))
            {
                return false;
            }
        }

        return true;
    }

    // The case that catches a fork which leaves the parent's cached write pointers in place: write page 0 of map 0 (the
    // map caches a write pointer), fork map 0, write the same byte again (it must not reach the fork). The three values
    // are those operations multiplied by the inverse of the hash constant.
    [Fact]
    public void AWritePointerCachedBeforeTheForkIsNotUsedAfterIt() =>
        Assert.True(ForkedMapsBehaveAsIndependentCopies([1150165747, 2147483648, 2777555699]));

    private static PhysicalMemoryMap Build() => new PhysicalMemoryMapBuilder().AddRam("ram", default, RamSize).Build();

    /// <summary>A map, its model, and a one-page-per-entry cache of write pointers kept as a CPU keeps its TLB.</summary>
    private sealed class Member : IPhysicalMemoryObserver
    {
        private readonly Dictionary<ulong, nint> _writePointers = [];

        public Member(PhysicalMemoryMap map, byte[] model)
        {
            Map = map;
            Model = model;
            map.AddObserver(this);
        }

        public PhysicalMemoryMap Map { get; }

        public byte[] Model { get; }

        public unsafe void WriteThroughTlb(ulong address, byte value)
        {
            ulong page = address >> PhysicalMemoryMap.PageShift;
            if (!_writePointers.TryGetValue(page, out nint host))
            {
                if (!Map.TryGetHostPage(new PhysicalAddress(address), forWrite: true, out host))
                {
                    Map.WriteByte(new PhysicalAddress(address), value);
                    Model[address] = value;
                    return;
                }

                _writePointers[page] = host;
            }

            *(byte*)(host + (nint)(address & PhysicalMemoryMap.PageOffsetMask)) = value;
            Model[address] = value;
        }

        public void OnTranslationsInvalidated(AddressRange range, bool contentChanged) => _writePointers.Clear();

        public void OnCodeWrite(PhysicalAddress address, int sizeInBytes)
        {
        }
    }
}
