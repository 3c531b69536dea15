using System.Diagnostics;
using System.Globalization;
using Virt.Cpu;

namespace Virt.Benchmarks;

/// <summary>The plain console mode: guest instructions per second with and without the decode cache, in one run.</summary>
public static class MipsRunner
{
    /// <summary>Runs every workload and prints one line per measurement.</summary>
    /// <param name="scale">Multiplies the iteration counts (1 = the recorded configuration).</param>
    /// <param name="only">When set, runs only the workloads whose name starts with it (for profiling).</param>
    public static void Run(double scale, string? only = null)
    {
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Virt CPU guest MIPS benchmark (.NET {Environment.Version}, {Environment.ProcessorCount} cores)"));
        uint aluIterations = (uint)(20_000_000 * scale);
        uint mixedIterations = (uint)(1_000_000 * scale);
        Measure(only, "alu-branch", "cache", GuestPrograms.AluBranchLoop(aluIterations), new CpuOptions(),
            GuestPrograms.AluLoopInstructions(aluIterations));
        // The same loop with a block hook that does nothing: what a set hook costs (docs/machine.md, "Costs").
        Measure(only, "alu-branch", "block-hook", GuestPrograms.AluBranchLoop(aluIterations), new CpuOptions(),
            GuestPrograms.AluLoopInstructions(aluIterations), cpu => cpu.BlockHook = static (_, _, _) => { });
        Measure(only, "alu-branch", "no-cache", GuestPrograms.AluBranchLoop(aluIterations / 50), new CpuOptions { DisableDecodeCache = true },
            GuestPrograms.AluLoopInstructions(aluIterations / 50));
        Measure(only, "mixed", "cache", GuestPrograms.MixedLoop(mixedIterations), new CpuOptions(),
            (mixedIterations * GuestPrograms.MixedLoopBodyInstructions) + GuestPrograms.MixedLoopOverheadInstructions);
        Measure(only, "mixed", "no-cache", GuestPrograms.MixedLoop(mixedIterations / 50), new CpuOptions { DisableDecodeCache = true },
            (mixedIterations / 50 * GuestPrograms.MixedLoopBodyInstructions) + GuestPrograms.MixedLoopOverheadInstructions);

        // Protected mode, paging off and on over the same loops, interleaved slice by slice: the paging cost as a ratio.
        MeasurePagingCost(only, "pm-alu", GuestPrograms.ProtectedAluBranchLoop(uint.MaxValue), scale);
        MeasurePagingCost(only, "pm-mixed", GuestPrograms.ProtectedMixedLoop(uint.MaxValue), scale);

        // The same loops as 64-bit code (4-level paging) against 32-bit protected mode with paging, interleaved.
        MeasureLongMode(only, "lm-alu", GuestPrograms.ProtectedAluBranchLoop(uint.MaxValue), GuestPrograms.LongAluBranchLoop(uint.MaxValue), scale);
        MeasureLongMode(only, "lm-mixed", GuestPrograms.ProtectedMixedLoop(uint.MaxValue), GuestPrograms.LongMixedLoop(uint.MaxValue), scale);

        // The Linux XZ decompressor's kind of code: flat 32-bit protected mode, paging off.
        MeasureProtected(only, "pm-decode", (uint)(4_000_000 * scale));

        // Block copies over RAM (flat 32-bit protected mode, paging off): bytes per second.
        MeasureRepMovs(only, "rep-movsb", 1, (uint)Math.Max(1, 2048 * scale));
        MeasureRepMovs(only, "rep-movsd", 4, (uint)Math.Max(1, 2048 * scale));

        // The interpreter against the compiled tier on the loops above, interleaved (TierRunner.cs).
        TierRunner.Run(scale, only);
    }

    /// <summary>
    /// Runs the REP MOVS loop to its HLT in 1 M-instruction slices (each element counts as one instruction, so a slice
    /// usually stops mid-copy and resumes) and reports the copy rate in GB/s and whether the retired count is exact.
    /// </summary>
    private static void MeasureRepMovs(string? only, string workload, int elementSize, uint iterations)
    {
        if (only is not null && !workload.StartsWith(only, StringComparison.Ordinal))
        {
            return;
        }

        Cpu.Cpu warm = GuestPrograms.CreateProtectedMachine(GuestPrograms.ProtectedRepMovsLoop(Math.Max(1, iterations / 8), elementSize), new CpuOptions(), paging: false);
        while (warm.Run(1_000_000) == StopReason.BudgetExhausted)
        {
        }

        Cpu.Cpu cpu = GuestPrograms.CreateProtectedMachine(GuestPrograms.ProtectedRepMovsLoop(iterations, elementSize), new CpuOptions(), paging: false);
        TimeSpan cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
        var stopwatch = Stopwatch.StartNew();
        StopReason stop;
        do
        {
            stop = cpu.Run(1_000_000);
        }
        while (stop == StopReason.BudgetExhausted);

        stopwatch.Stop();
        double cpuSeconds = (Process.GetCurrentProcess().TotalProcessorTime - cpuBefore).TotalSeconds;
        double bytes = (double)iterations * GuestPrograms.RepMovsBytesPerIteration;
        long expected = GuestPrograms.RepMovsInstructions(iterations, elementSize);
        string check = cpu.RetiredInstructions == expected ? "ok" : string.Create(CultureInfo.InvariantCulture, $"MISMATCH expected {expected}");
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{workload,-11} flat      bytes={bytes,12:F0} seconds={stopwatch.Elapsed.TotalSeconds,7:F3} GB/s={bytes / stopwatch.Elapsed.TotalSeconds / 1e9,7:F2} cpu-seconds={cpuSeconds,7:F3} GB/s-per-cpu-second={bytes / Math.Max(cpuSeconds, 1e-9) / 1e9,7:F2} MIPS={cpu.RetiredInstructions / stopwatch.Elapsed.TotalSeconds / 1e6,8:F1} stop={stop} count={check}"));
    }

    /// <summary>
    /// Runs pm-decode to its HLT on a fresh machine after a JIT warm-up, in 1 M-instruction slices, and reports wall-clock MIPS,
    /// the median and best slice, and whether the retired count matches the C# model of the loop.
    /// </summary>
    private static void MeasureProtected(string? only, string workload, uint iterations)
    {
        if (only is not null && !workload.StartsWith(only, StringComparison.Ordinal))
        {
            return;
        }

        long expected = GuestPrograms.DecodeLoopInstructions(iterations);
        Cpu.Cpu warm = GuestPrograms.CreateDecodeMachine(iterations, new CpuOptions());
        for (int i = 0; i < 10 && warm.Run(1_000_000) == StopReason.BudgetExhausted; i++)
        {
        }

        Cpu.Cpu cpu = GuestPrograms.CreateDecodeMachine(iterations, new CpuOptions());
        var sliceTimes = new List<double>();
        var stopwatch = Stopwatch.StartNew();
        StopReason stop;
        do
        {
            long before = cpu.RetiredInstructions;
            long start = Stopwatch.GetTimestamp();
            stop = cpu.Run(1_000_000);
            if (stop == StopReason.BudgetExhausted && cpu.RetiredInstructions - before == 1_000_000)
            {
                sliceTimes.Add(Stopwatch.GetElapsedTime(start).TotalSeconds);
            }
        }
        while (stop == StopReason.BudgetExhausted);

        stopwatch.Stop();
        sliceTimes.Sort();
        double median = sliceTimes.Count > 0 ? 1 / sliceTimes[sliceTimes.Count / 2] / 1e6 * 1_000_000 : 0;
        double best = sliceTimes.Count > 0 ? 1 / sliceTimes[0] / 1e6 * 1_000_000 : 0;
        string check = cpu.RetiredInstructions == expected ? "ok" : string.Create(CultureInfo.InvariantCulture, $"MISMATCH expected {expected}");
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{workload,-11} flat      instructions={cpu.RetiredInstructions,12} seconds={stopwatch.Elapsed.TotalSeconds,7:F3} MIPS={cpu.RetiredInstructions / stopwatch.Elapsed.TotalSeconds / 1e6,8:F1} median-1M-slice-MIPS={median,8:F1} best-1M-slice-MIPS={best,8:F1} stop={stop} count={check} decodedBlocks={cpu.BlocksDecoded}"));
    }

    /// <summary>
    /// Runs the same 32-bit loop on two CPUs, paging off and paging on (4 KiB pages), alternating 1 M-instruction slices so
    /// that the shared machine's load falls on both alike, and reports the median slice speed of each and their ratio.
    /// </summary>
    private static void MeasurePagingCost(string? only, string workload, byte[] code, double scale)
    {
        if (only is not null && !workload.StartsWith(only, StringComparison.Ordinal))
        {
            return;
        }

        const long slice = 1_000_000;
        int slices = Math.Max(5, (int)(60 * scale));
        Cpu.Cpu flat = GuestPrograms.CreateProtectedMachine(code, new CpuOptions(), paging: false);
        Cpu.Cpu paged = GuestPrograms.CreateProtectedMachine(code, new CpuOptions(), paging: true);
        for (int i = 0; i < 5; i++)
        {
            flat.Run(slice);
            paged.Run(slice);
        }

        var flatTimes = new double[slices];
        var pagedTimes = new double[slices];
        for (int i = 0; i < slices; i++)
        {
            flatTimes[i] = TimeSlice(flat, slice);
            pagedTimes[i] = TimeSlice(paged, slice);
        }

        Array.Sort(flatTimes);
        Array.Sort(pagedTimes);
        double flatMedian = flatTimes[slices / 2];
        double pagedMedian = pagedTimes[slices / 2];
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{workload,-11} paging    slices={slices}x{slice} flat-median-MIPS={slice / flatMedian / 1e6,8:F1} paged-median-MIPS={slice / pagedMedian / 1e6,8:F1} flat-best-MIPS={slice / flatTimes[0] / 1e6,8:F1} paged-best-MIPS={slice / pagedTimes[0] / 1e6,8:F1} paged/flat-time={pagedMedian / flatMedian:F3} (overhead {((pagedMedian / flatMedian) - 1) * 100:F1}%, goal < 20%) decodedBlocks={paged.BlocksDecoded}"));
    }

    /// <summary>
    /// Runs a 32-bit loop (protected mode, paging on) and its 64-bit version (64-bit mode, 4-level paging) in alternating
    /// repetitions of a few 1 M-instruction slices each (the order swapped every repetition), times each block in CPU time of
    /// this thread (<see cref="ThreadCpuTime"/>: the other processes on a shared machine do not count), and reports the
    /// 64-bit/32-bit time ratio of every repetition, their median, and the median speed of each (goal: ratio at most 1.10).
    /// </summary>
    private static void MeasureLongMode(string? only, string workload, byte[] code32, byte[] code64, double scale)
    {
        if (only is not null && !workload.StartsWith(only, StringComparison.Ordinal))
        {
            return;
        }

        const long slice = 1_000_000;
        const int slicesPerBlock = 4;
        int repetitions = Math.Max(7, (int)(30 * scale)) | 1;
        Cpu.Cpu legacy = GuestPrograms.CreateProtectedMachine(code32, new CpuOptions(), paging: true);
        Cpu.Cpu longMode = GuestPrograms.CreateLongModeMachine(code64, new CpuOptions());

        // Warm-up: enough calls for the JIT's tiering to settle on both paths before anything is timed.
        for (int i = 0; i < 30; i++)
        {
            legacy.Run(slice);
            longMode.Run(slice);
        }

        var ratios = new double[repetitions];
        var legacySeconds = new double[repetitions];
        var longSeconds = new double[repetitions];
        for (int r = 0; r < repetitions; r++)
        {
            if ((r & 1) == 0)
            {
                legacySeconds[r] = TimeBlock(legacy, slice, slicesPerBlock);
                longSeconds[r] = TimeBlock(longMode, slice, slicesPerBlock);
            }
            else
            {
                longSeconds[r] = TimeBlock(longMode, slice, slicesPerBlock);
                legacySeconds[r] = TimeBlock(legacy, slice, slicesPerBlock);
            }

            ratios[r] = longSeconds[r] / legacySeconds[r];
        }

        string perRepetition = string.Join(' ', ratios.Select(x => x.ToString("F3", CultureInfo.InvariantCulture)));
        double blockInstructions = slice * slicesPerBlock;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{workload,-11} 64-bit    repetitions={repetitions}x{slicesPerBlock}x{slice} clock={(ThreadCpuTime.IsPerThread ? "thread-cpu" : "process-cpu")} 32-bit-paged-median-MIPS={blockInstructions / Median(legacySeconds) / 1e6,8:F1} 64-bit-median-MIPS={blockInstructions / Median(longSeconds) / 1e6,8:F1} 64/32-time median={Median(ratios):F3} min={ratios.Min():F3} max={ratios.Max():F3} (goal <= 1.10) per-repetition=[{perRepetition}]"));
    }

    /// <summary>Runs <paramref name="slices"/> slices and returns the CPU time this thread spent on them, in seconds.</summary>
    private static double TimeBlock(Cpu.Cpu cpu, long instructions, int slices)
    {
        double start = ThreadCpuTime.Seconds();
        for (int i = 0; i < slices; i++)
        {
            StopReason stop = cpu.Run(instructions);
            if (stop != StopReason.BudgetExhausted)
            {
                throw new InvalidOperationException($"The benchmark loop stopped early: {stop}.");
            }
        }

        return ThreadCpuTime.Seconds() - start;
    }

    private static double Median(double[] values)
    {
        double[] sorted = (double[])values.Clone();
        Array.Sort(sorted);
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
    }

    private static double TimeSlice(Cpu.Cpu cpu, long instructions)
    {
        long start = Stopwatch.GetTimestamp();
        StopReason stop = cpu.Run(instructions);
        double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
        if (stop != StopReason.BudgetExhausted)
        {
            throw new InvalidOperationException($"The benchmark loop stopped early: {stop}.");
        }

        return seconds;
    }

    /// <summary>
    /// Runs a real-mode loop to its HLT on a fresh machine after a JIT warm-up, in 1 M-instruction slices, and reports
    /// wall-clock and process-CPU MIPS, the best slice by the wall clock, and the median and best slice in CPU time of this
    /// thread (<see cref="ThreadCpuTime"/>): the figures that other processes on a shared machine disturb least (time they
    /// take is not counted; what they do to caches is), used for A/B comparisons of two builds.
    /// </summary>
    private static void Measure(string? only, string workload, string mode, byte[] code, CpuOptions options, long expectedInstructions, Action<Cpu.Cpu>? setUp = null)
    {
        if (only is not null && !workload.StartsWith(only, StringComparison.Ordinal))
        {
            return;
        }

        Cpu.Cpu Create()
        {
            Cpu.Cpu created = GuestPrograms.CreateMachine(code, options);
            setUp?.Invoke(created);
            return created;
        }

        // Warm up the JIT on a short copy of the same guest, then measure a fresh machine.
        Cpu.Cpu warm = Create();
        for (int i = 0; i < 40 && warm.Run(Math.Min(expectedInstructions / 40, 250_000)) == StopReason.BudgetExhausted; i++)
        {
        }

        Cpu.Cpu cpu = Create();
        TimeSpan cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
        var stopwatch = Stopwatch.StartNew();
        StopReason stop;
        double bestSliceMips = 0;
        var sliceThreadSeconds = new List<double>();
        long sliceTicks = Stopwatch.GetTimestamp();
        do
        {
            double threadBefore = ThreadCpuTime.Seconds();
            // Slices like a machine's run loop between timer deadlines; the fastest full slice shows the speed when the
            // (shared, loaded) machine gives us a core undisturbed.
            long before = cpu.RetiredInstructions;
            stop = cpu.Run(1_000_000);
            long now = Stopwatch.GetTimestamp();
            double threadSeconds = ThreadCpuTime.Seconds() - threadBefore;
            if (stop == StopReason.BudgetExhausted)
            {
                bestSliceMips = Math.Max(bestSliceMips, (cpu.RetiredInstructions - before) / Stopwatch.GetElapsedTime(sliceTicks, now).TotalSeconds / 1e6);
                if (cpu.RetiredInstructions - before == 1_000_000)
                {
                    sliceThreadSeconds.Add(threadSeconds);
                }
            }

            sliceTicks = now;
        }
        while (stop == StopReason.BudgetExhausted);

        stopwatch.Stop();
        double cpuSeconds = (Process.GetCurrentProcess().TotalProcessorTime - cpuBefore).TotalSeconds;
        double mips = cpu.RetiredInstructions / stopwatch.Elapsed.TotalSeconds / 1e6;
        double cpuMips = cpu.RetiredInstructions / Math.Max(cpuSeconds, 1e-9) / 1e6;
        string check = cpu.RetiredInstructions == expectedInstructions ? "ok" : string.Create(CultureInfo.InvariantCulture, $"MISMATCH expected {expectedInstructions}");
        string threadMedian = sliceThreadSeconds.Count > 0
            ? string.Create(CultureInfo.InvariantCulture, $"{1_000_000 / Median([.. sliceThreadSeconds]) / 1e6:F1}")
            : "n/a";
        string threadBest = sliceThreadSeconds.Count > 0
            ? string.Create(CultureInfo.InvariantCulture, $"{1_000_000 / sliceThreadSeconds.Min() / 1e6:F1}")
            : "n/a";
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{workload,-11} {mode,-9} instructions={cpu.RetiredInstructions,12} seconds={stopwatch.Elapsed.TotalSeconds,7:F3} MIPS={mips,8:F1} cpu-seconds={cpuSeconds,7:F3} MIPS-per-cpu-second={cpuMips,8:F1} best-1M-slice-MIPS={(bestSliceMips > 0 ? bestSliceMips.ToString("F1", CultureInfo.InvariantCulture) : "n/a"),8} {(ThreadCpuTime.IsPerThread ? "thread" : "process")}-cpu-median-1M-slice-MIPS={threadMedian,8} best={threadBest,8} slices={sliceThreadSeconds.Count} stop={stop} count={check} decodedBlocks={cpu.BlocksDecoded}"));
    }
}
