using Xunit;

namespace Virt.Cpu.Tests;

/// <summary>The decode cache's byte estimate is honest: it matches the managed heap the cached blocks really hold.</summary>
[Collection(NonParallelCollection.Name)]
public sealed class DecodeCacheEstimateTests
{
    [Fact]
    public void Estimate_matches_the_heap_growth_of_a_guest_with_thousands_of_blocks()
    {
        var guest = new DecodeCacheBudgetTests.SledGuest(new CpuOptions(), sledBytes: 32 * 1024, rounds: 1);
        guest.Cpu.Run(100); // everything but the blocks allocated
        long before = GC.GetTotalMemory(forceFullCollection: true);
        Assert.Equal(StopReason.Halted, guest.Cpu.Run(10_000_000));
        long after = GC.GetTotalMemory(forceFullCollection: true);
        long estimate = guest.Cpu.DecodeCacheSizeInBytes;
        long grown = after - before;
        GC.KeepAlive(guest);

        // Some 32,000 blocks, tens of megabytes: the heap's own noise is small beside that. The estimate may err on the safe
        // side (dictionaries are charged for their growth slack), never by much.
        Assert.True(guest.Cpu.CachedBlockCount > 30_000, $"{guest.Cpu.CachedBlockCount} blocks");
        Assert.InRange((double)estimate / grown, 0.9, 1.5);
    }
}
