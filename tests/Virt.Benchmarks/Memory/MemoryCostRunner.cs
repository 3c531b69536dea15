using System.Diagnostics;
using System.Globalization;
using Virt.Machine;
using Virt.Machine.Boot;
using Virt.Memory;

namespace Virt.Benchmarks.Memory;

/// <summary>
/// The console mode <c>memcost [flat-image]</c>: the managed heap an idle 1 TiB guest costs, and, given a file, the time
/// and memory it takes to load it as a flat binary at 1 MiB into a 4 GiB guest. Make a large test image as a sparse
/// file (<c>truncate -s 2G /tmp/flat.bin</c>): it costs no disk, but the loader reads every byte of it.
/// </summary>
public static class MemoryCostRunner
{
    private const double MiB = 1024 * 1024;

    /// <summary>Prints one line per measurement.</summary>
    /// <param name="flatImagePath">A file to load as a flat binary, or null to skip that measurement.</param>
    public static void Run(string? flatImagePath)
    {
        long heapBefore = GC.GetTotalMemory(forceFullCollection: true);
        long allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
        using (Machine.Machine idle = new MachineBuilder().WithMemorySize(MachineBuilder.MaximumMemorySizeInBytes).Build())
        {
            long allocated = GC.GetAllocatedBytesForCurrentThread() - allocatedBefore;
            long heap = GC.GetTotalMemory(forceFullCollection: true) - heapBefore;
            GCMemoryInfo info = GC.GetGCMemoryInfo(GCKind.Any);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"idle-1TiB  GC.GetTotalMemory(true)-delta-MiB={heap / MiB:F1} allocated-MiB={allocated / MiB:F1} GCMemoryInfo.HeapSizeBytes-MiB={info.HeapSizeBytes / MiB:F1} committed-MiB={info.TotalCommittedBytes / MiB:F1} guest-RAM-allocated-MiB={idle.Memory.AllocatedRamBytes / MiB:F1}"));
        }

        if (flatImagePath is null)
        {
            return;
        }

        const ulong guestRam = 4UL << 30;
        const uint loadAddress = 0x10_0000;
        // What a user does: the builder's file overload (a dry run at Build, then the load at boot), so the figure covers
        // everything between naming the file and the guest's first instruction.
        long before = GC.GetAllocatedBytesForCurrentThread();
        var stopwatch = Stopwatch.StartNew();
        using Machine.Machine machine = new MachineBuilder()
            .WithMemorySize(guestRam)
            .WithFlatBinary(flatImagePath, new PhysicalAddress(loadAddress), BootEntryState.FlatProtectedMode(loadAddress, "memcost"))
            .Build();
        stopwatch.Stop();
        long loadAllocated = GC.GetAllocatedBytesForCurrentThread() - before;
        using var process = Process.GetCurrentProcess();
        process.Refresh();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"flat-load  file-MiB={new FileInfo(flatImagePath).Length / MiB:F0} seconds={stopwatch.Elapsed.TotalSeconds:F2} allocated-MiB={loadAllocated / MiB:F1} guest-RAM-allocated-MiB={machine.Memory.AllocatedRamBytes / MiB:F1} peak-working-set-MiB={process.PeakWorkingSet64 / MiB:F1}"));
    }
}
