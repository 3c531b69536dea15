using Xunit;

namespace Virt.Cpu.Tests;

/// <summary>The decode cache's byte estimate is honest: it matches the managed heap the cached blocks really hold.</summary>
/// <remarks>
/// The live heap (<see cref="GC.GetTotalMemory"/>) is process-wide, so this class runs in the non-parallel collection, and
/// each measurement also checks that no other thread allocated while it ran (process-wide allocations minus this thread's):
/// a measurement another thread disturbed is repeated, never trusted. The upper bound needs no such care: the blocks cannot
/// hold more than this thread allocated while building them (<see cref="GC.GetAllocatedBytesForCurrentThread"/>).
/// </remarks>
[Collection(NonParallelCollection.Name)]
public sealed class DecodeCacheEstimateTests
{
    private const int Attempts = 3;

    [Fact]
    public void Estimate_matches_the_heap_growth_of_a_guest_with_thousands_of_blocks()
    {
        string disturbed = string.Empty;
        for (int attempt = 0; attempt < Attempts; attempt++)
        {
            // The interpreter tier by name: compiled blocks would add their own memory to the heap growth measured here.
            var guest = new DecodeCacheBudgetTests.SledGuest(new CpuOptions { ExecutionTier = ExecutionTier.Interpreter }, sledBytes: 32 * 1024, rounds: 1);
            guest.Cpu.Run(100); // everything but the blocks allocated
            long before = GC.GetTotalMemory(forceFullCollection: true);
            long processAllocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
            long threadAllocatedBefore = GC.GetAllocatedBytesForCurrentThread();
            Assert.Equal(StopReason.Halted, guest.Cpu.Run(10_000_000));
            long threadAllocated = GC.GetAllocatedBytesForCurrentThread() - threadAllocatedBefore;
            long otherThreadsAllocated = GC.GetTotalAllocatedBytes(precise: true) - processAllocatedBefore - threadAllocated;
            long after = GC.GetTotalMemory(forceFullCollection: true);
            long estimate = guest.Cpu.DecodeCacheSizeInBytes;
            long grown = after - before;
            GC.KeepAlive(guest);

            // Some 32,000 blocks, tens of megabytes.
            Assert.True(guest.Cpu.CachedBlockCount > 30_000, $"{guest.Cpu.CachedBlockCount} blocks");
            Assert.InRange(estimate, 1, (long)(1.5 * threadAllocated));
            if (otherThreadsAllocated > grown / 100)
            {
                disturbed += $"attempt {attempt}: other threads allocated {otherThreadsAllocated} bytes beside {grown}; ";
                continue;
            }

            // The estimate may err on the safe side (dictionaries are charged for their growth slack), never by much.
            Assert.InRange((double)estimate / grown, 0.9, 1.5);
            return;
        }

        Assert.Fail("every measurement was disturbed by other threads: " + disturbed);
    }
}
