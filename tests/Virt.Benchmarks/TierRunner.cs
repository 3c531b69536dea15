using System.Diagnostics;
using System.Globalization;
using Virt.Cpu;

namespace Virt.Benchmarks;

/// <summary>
/// The execution tiers side by side: each loop on two CPUs, the interpreter and the compiled tier, run alternately in
/// 1 M-instruction slices so that the shared machine's load falls on both alike; the median slice speed of each, their
/// ratio, and the compiled tier's compile statistics.
/// </summary>
public static class TierRunner
{
    private const long Slice = 1_000_000;

    /// <summary>Runs every tier comparison (or those whose name starts with <paramref name="only"/>).</summary>
    /// <param name="scale">Multiplies the number of slices (1 = 40 slices per tier and loop).</param>
    /// <param name="only">When set, runs only the workloads whose name starts with it.</param>
    public static void Run(double scale, string? only = null)
    {
        Measure(only, "tier-alu", scale, o => GuestPrograms.CreateMachine(GuestPrograms.AluBranchLoop(uint.MaxValue), o));
        Measure(only, "tier-mixed", scale, o => GuestPrograms.CreateMachine(GuestPrograms.MixedLoop(uint.MaxValue), o));
        Measure(only, "tier-pm-alu", scale, o => GuestPrograms.CreateProtectedMachine(GuestPrograms.ProtectedAluBranchLoop(uint.MaxValue), o, paging: true));
        Measure(only, "tier-pm-mixed", scale, o => GuestPrograms.CreateProtectedMachine(GuestPrograms.ProtectedMixedLoop(uint.MaxValue), o, paging: true));
        Measure(only, "tier-lm-alu", scale, o => GuestPrograms.CreateLongModeMachine(GuestPrograms.LongAluBranchLoop(uint.MaxValue), o));
        Measure(only, "tier-lm-mixed", scale, o => GuestPrograms.CreateLongModeMachine(GuestPrograms.LongMixedLoop(uint.MaxValue), o));
        Measure(only, "tier-pm-decode", scale, o => GuestPrograms.CreateDecodeMachine(uint.MaxValue, o));
    }

    private static void Measure(string? only, string workload, double scale, Func<CpuOptions, Cpu.Cpu> create)
    {
        if (only is not null && !workload.StartsWith(only, StringComparison.Ordinal))
        {
            return;
        }

        int slices = Math.Max(5, (int)(40 * scale));
        Cpu.Cpu interpreter = create(new CpuOptions());
        Cpu.Cpu compiled = create(new CpuOptions { ExecutionTier = ExecutionTier.Compiled });

        // Warm-up: the runtime's JIT for both loops, and the hot blocks compiled (their compile time is in the statistics).
        for (int i = 0; i < 3; i++)
        {
            interpreter.Run(Slice);
            compiled.Run(Slice);
        }

        var interpreterTimes = new double[slices];
        var compiledTimes = new double[slices];
        for (int i = 0; i < slices; i++)
        {
            interpreterTimes[i] = TimeSlice(interpreter);
            compiledTimes[i] = TimeSlice(compiled);
        }

        string check = interpreter.RetiredInstructions == compiled.RetiredInstructions
            && interpreter.GetRegister(GeneralRegister.Rax) == compiled.GetRegister(GeneralRegister.Rax)
            && interpreter.Flags == compiled.Flags && interpreter.Rip == compiled.Rip ? "same" : "DIFFERENT";
        Array.Sort(interpreterTimes);
        Array.Sort(compiledTimes);
        double interpreterMedian = interpreterTimes[slices / 2];
        double compiledMedian = compiledTimes[slices / 2];
        CompiledTierStatistics s = compiled.CompiledTierStatistics;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{workload,-14} tiers     slices={slices}x{Slice} interpreter-median-MIPS={Slice / interpreterMedian / 1e6,8:F1} compiled-median-MIPS={Slice / compiledMedian / 1e6,8:F1} compiled/interpreter-speed={interpreterMedian / compiledMedian:F2} state={check} blocks-compiled={s.BlocksCompiled} compile-ms={s.CompileTime.TotalMilliseconds:F1} il-bytes={s.IlBytes} code-estimate-bytes={s.CodeSizeInBytes}"));
    }

    private static double TimeSlice(Cpu.Cpu cpu)
    {
        long start = Stopwatch.GetTimestamp();
        StopReason stop = cpu.Run(Slice);
        double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
        if (stop != StopReason.BudgetExhausted)
        {
            throw new InvalidOperationException($"The benchmark loop stopped early: {stop}.");
        }

        return seconds;
    }
}
