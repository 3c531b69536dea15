using System.Diagnostics;
using System.Globalization;
using Virt.Devices;
using Virt.Machine;
using Virt.Machine.Boot;
using Virt.Memory;

namespace Virt.Benchmarks;

/// <summary>
/// The <c>checkpoints</c> console mode: checkpoint, rewind, fork and snapshot save/restore times against RAM size and
/// pages dirtied (docs/snapshots.md records a run). Each machine has all of its RAM written once before the first checkpoint.
/// </summary>
public static class CheckpointRunner
{
    private const int PageSize = PhysicalMemoryMap.PageSizeInBytes;

    /// <summary>Bytes of each page filled with pseudo-random data when RAM is touched; the rest of the page is a constant, so deflate has something to do but not everything.</summary>
    private const int RandomBytesPerPage = 1024;

    /// <summary>Repetitions of each rewind and incremental-checkpoint measurement (the median is reported).</summary>
    private const int Repetitions = 101;

    /// <summary>Untimed rounds before each row's measured ones.</summary>
    private const int WarmUpRepetitions = 10;

    /// <summary>Repetitions of each snapshot save and restore.</summary>
    private const int SnapshotRepetitions = 3;

    private static readonly ulong[] s_ramSizes = [64UL << 20, 256UL << 20, 1UL << 30];
    private static readonly int[] s_dirtyPages = [1, 16, 256, 4096];

    /// <summary>Pages the fork rows dirty in the fork after forking (0: the fork alone).</summary>
    private static readonly int[] s_forkDirtyPages = [0, 1, 16, 256, 4096];

    /// <summary>Guest code: CLI, HLT. The guest never runs in this benchmark; the host writes RAM as a guest would.</summary>
    private static readonly byte[] s_haltImage = [0xFA, 0xF4];

    /// <summary>Measures every RAM size and prints two tables.</summary>
    /// <param name="largestMiB">When set, skips RAM sizes above this many MiB (a quick run).</param>
    public static void Run(int? largestMiB = null)
    {
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Virt checkpoint/snapshot benchmark (.NET {Environment.Version}, {Environment.ProcessorCount} cores, median of {Repetitions} rewinds, {SnapshotRepetitions} saves/restores)"));
        var rewindRows = new List<string>();
        var snapshotRows = new List<string>();
        var forkRows = new List<string>();
        foreach (ulong size in s_ramSizes.Where(s => largestMiB is null || s <= (ulong)largestMiB.Value << 20))
        {
            MeasureForks(size, forkRows);
            Measure(size, rewindRows, snapshotRows);
        }

        Console.WriteLine();
        Console.WriteLine("| RAM | pages dirtied in the fork | Fork (median) | dirtying them (median) | pages copied | Dispose of the fork (median) |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|");
        forkRows.ForEach(Console.WriteLine);

        Console.WriteLine();
        Console.WriteLine("| RAM | pages dirtied | Rewind (median) | pages put back | incremental Checkpoint (median) |");
        Console.WriteLine("|---|---:|---:|---:|---:|");
        rewindRows.ForEach(Console.WriteLine);
        Console.WriteLine();
        Console.WriteLine("| RAM | first Checkpoint (copies all RAM) | SaveSnapshot (median) | RestoreSnapshot (median) | snapshot size |");
        Console.WriteLine("|---|---:|---:|---:|---:|");
        snapshotRows.ForEach(Console.WriteLine);
    }

    private static void Measure(ulong size, List<string> rewindRows, List<string> snapshotRows)
    {
        string ram = $"{size >> 20} MiB";
        using Virt.Machine.Machine machine = Build(size);
        Touch(machine, size);

        long start = Stopwatch.GetTimestamp();
        MachineCheckpoint checkpoint = machine.Checkpoint();
        TimeSpan first = Stopwatch.GetElapsedTime(start);

        // The first checkpoint allocated a copy of all RAM; collect now so a background GC does not land in the first rows.
        GC.Collect();
        GC.WaitForPendingFinalizers();

        long pages = (long)(size / PageSize);
        byte value = 1;
        foreach (int dirty in s_dirtyPages)
        {
            var rewinds = new List<double>();
            var checkpoints = new List<double>();
            long putBack = 0;
            for (int rep = -WarmUpRepetitions; rep < Repetitions; rep++)
            {
                Dirty(machine, pages, dirty, value++);
                start = Stopwatch.GetTimestamp();
                putBack = machine.Rewind(checkpoint);
                double rewind = Stopwatch.GetElapsedTime(start).TotalMilliseconds;

                Dirty(machine, pages, dirty, value++);
                start = Stopwatch.GetTimestamp();
                checkpoint = machine.Checkpoint();
                double incremental = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
                if (rep >= 0)
                {
                    rewinds.Add(rewind);
                    checkpoints.Add(incremental);
                }
            }

            rewindRows.Add(string.Create(CultureInfo.InvariantCulture, $"| {ram} | {dirty} ({dirty * PageSize / 1024} KiB) | {Median(rewinds):0.000} ms | {putBack} | {Median(checkpoints):0.000} ms |"));
            Console.Error.WriteLine(rewindRows[^1]);
        }

        var saves = new List<double>();
        var restores = new List<double>();
        long snapshotBytes = 0;
        using Virt.Machine.Machine target = Build(size);
        for (int rep = 0; rep < SnapshotRepetitions; rep++)
        {
            var stream = new MemoryStream();
            start = Stopwatch.GetTimestamp();
            machine.SaveSnapshot(stream);
            saves.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
            snapshotBytes = stream.Length;

            stream.Position = 0;
            start = Stopwatch.GetTimestamp();
            target.RestoreSnapshot(stream);
            restores.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
        }

        snapshotRows.Add(string.Create(CultureInfo.InvariantCulture, $"| {ram} | {first.TotalMilliseconds:0.0} ms | {Median(saves):0.0} ms | {Median(restores):0.0} ms | {snapshotBytes / (1024.0 * 1024.0):0.0} MiB |"));
        Console.Error.WriteLine(snapshotRows[^1]);
    }

    /// <summary>
    /// Forks a machine whose RAM is all in use, then dirties N pages in the fork (each write to a shared 64 KiB chunk
    /// copies it) and disposes the fork; the parent is never written, so every fork shares all of its RAM.
    /// </summary>
    private static void MeasureForks(ulong size, List<string> rows)
    {
        string ram = $"{size >> 20} MiB";
        using Virt.Machine.Machine machine = Build(size);
        Touch(machine, size);
        long pages = (long)(size / PageSize);
        foreach (int dirty in s_forkDirtyPages)
        {
            var forks = new List<double>();
            var writes = new List<double>();
            var disposals = new List<double>();
            long copied = 0;
            for (int rep = -WarmUpRepetitions; rep < Repetitions; rep++)
            {
                long start = Stopwatch.GetTimestamp();
                Virt.Machine.Machine fork = machine.Fork();
                double forkTime = Stopwatch.GetElapsedTime(start).TotalMilliseconds;

                start = Stopwatch.GetTimestamp();
                Dirty(fork, pages, dirty, (byte)rep);
                double writeTime = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
                copied = fork.Memory.CopiedOnWritePageCount;

                start = Stopwatch.GetTimestamp();
                fork.Dispose();
                double disposeTime = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
                if (rep >= 0)
                {
                    forks.Add(forkTime);
                    writes.Add(writeTime);
                    disposals.Add(disposeTime);
                }
            }

            rows.Add(string.Create(CultureInfo.InvariantCulture, $"| {ram} | {dirty} ({dirty * PageSize / 1024} KiB) | {Median(forks):0.000} ms | {Median(writes):0.000} ms | {copied} | {Median(disposals):0.000} ms |"));
            Console.Error.WriteLine(rows[^1]);
        }
    }

    private static Virt.Machine.Machine Build(ulong size) => new MachineBuilder()
        .WithMemorySize(size)
        .WithClock(new VirtualClockOptions { Mode = VirtualClockMode.Deterministic })
        .WithFlatBinary(s_haltImage, new PhysicalAddress(0x7C00), BootEntryState.RealMode(0, 0x7C00, "halt"))
        .Build();

    /// <summary>Writes every page of RAM from 1 MiB up (below it are the BIOS areas and holes): 1 KiB of xorshift data, then 0x5A.</summary>
    private static void Touch(Virt.Machine.Machine machine, ulong size)
    {
        byte[] block = new byte[1 << 20];
        ulong state = 0x2545F4914F6CDD1D;
        for (ulong address = 1UL << 20; address < size; address += (ulong)block.Length)
        {
            for (int page = 0; page < block.Length; page += PageSize)
            {
                for (int i = 0; i < RandomBytesPerPage; i += sizeof(ulong))
                {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    BitConverter.TryWriteBytes(block.AsSpan(page + i), state);
                }

                block.AsSpan(page + RandomBytesPerPage, PageSize - RandomBytesPerPage).Fill(0x5A);
            }

            machine.Memory.Write(new PhysicalAddress(address), block);
        }
    }

    /// <summary>Writes one byte into each of <paramref name="count"/> pages spread evenly over RAM from 1 MiB up.</summary>
    private static void Dirty(Virt.Machine.Machine machine, long pages, int count, byte value)
    {
        if (count == 0)
        {
            return;
        }

        long first = (1L << 20) / PageSize;
        long stride = (pages - first) / count;
        ReadOnlySpan<byte> one = [value];
        for (int i = 0; i < count; i++)
        {
            machine.Memory.Write(new PhysicalAddress((ulong)((first + (i * stride)) * PageSize)), one);
        }
    }

    private static double Median(List<double> values)
    {
        values.Sort();
        return values[values.Count / 2];
    }
}
