using System.Diagnostics;
using System.Globalization;
using Iced.Intel;
using Virt.Cpu;
using static Iced.Intel.AssemblerRegisters;

namespace Virt.Benchmarks;

/// <summary>
/// The compiled tier from a cold start, where compiling costs: each workload run from a fresh CPU to its end on the
/// interpreter, the compiled tier compiling on the run thread, and the compiled tier compiling on the background thread
/// (<see cref="CpuOptions.BackgroundCompilation"/>), in turn for a few rounds; the median wall time of each and the
/// compile statistics of the last compiled runs.
/// </summary>
public static class TierStartRunner
{
    /// <summary>Distinct loops in the many-loops workload.</summary>
    private const int Loops = 1000;

    /// <summary>Iterations of each loop.</summary>
    private const int LoopIterations = 3000;

    /// <summary>Instructions of the decoder loop's cold run.</summary>
    private const long DecodeInstructions = 20_000_000;

    /// <summary>Runs the comparison.</summary>
    /// <param name="rounds">How many times each configuration runs each workload.</param>
    public static void Run(int rounds)
    {
        // The runtime's first Reflection.Emit compile costs tens of milliseconds once per process: not the tier's cost.
        Cpu.Cpu warm = GuestPrograms.CreateProtectedMachine(ManyLoops(4, 100), new CpuOptions { ExecutionTier = ExecutionTier.Compiled, CompileThreshold = 0 }, paging: true);
        warm.Run(long.MaxValue / 2);

        Measure("start-many-loops", rounds, o => GuestPrograms.CreateProtectedMachine(ManyLoops(Loops, LoopIterations), o, paging: true), long.MaxValue / 2);
        Measure("start-pm-decode", rounds, o => GuestPrograms.CreateDecodeMachine(uint.MaxValue, o), DecodeInstructions);
    }

    /// <summary>
    /// <paramref name="loops"/> distinct loops one after the other, each of six instructions (register ALU, LEA, a store)
    /// run <paramref name="iterations"/> times: code that becomes hot once and is left, as a kernel's boot runs it.
    /// </summary>
    private static byte[] ManyLoops(int loops, int iterations)
    {
        var a = new Assembler(32);
        for (int k = 0; k < loops; k++)
        {
            Label top = a.CreateLabel();
            a.mov(ecx, iterations);
            a.Label(ref top);
            a.add(eax, ecx);
            a.xor(ebx, eax);
            a.lea(edx, __[eax + ebx * 2 + k]);
            a.mov(__dword_ptr[0x20100 + ((k % 64) * 4)], edx);
            a.dec(ecx);
            a.jnz(top);
        }

        a.hlt();
        using var stream = new MemoryStream();
        a.Assemble(new StreamCodeWriter(stream), GuestPrograms.CodeOffset);
        return stream.ToArray();
    }

    private static void Measure(string workload, int rounds, Func<CpuOptions, Cpu.Cpu> create, long instructions)
    {
        (string Name, CpuOptions Options)[] configurations =
        [
            ("interpreter", new CpuOptions()),
            ("compiled-run-thread", new CpuOptions { ExecutionTier = ExecutionTier.Compiled }),
            ("compiled-background", new CpuOptions { ExecutionTier = ExecutionTier.Compiled, BackgroundCompilation = true }),
        ];
        var times = new double[configurations.Length][];
        var statistics = new CompiledTierStatistics[configurations.Length];
        var retired = new long[configurations.Length];
        for (int c = 0; c < configurations.Length; c++)
        {
            times[c] = new double[rounds];
        }

        for (int r = 0; r < rounds; r++)
        {
            for (int c = 0; c < configurations.Length; c++)
            {
                Cpu.Cpu cpu = create(configurations[c].Options);
                long start = Stopwatch.GetTimestamp();
                cpu.Run(instructions);
                times[c][r] = Stopwatch.GetElapsedTime(start).TotalSeconds;
                statistics[c] = cpu.CompiledTierStatistics;
                retired[c] = cpu.RetiredInstructions;
            }
        }

        for (int c = 0; c < configurations.Length; c++)
        {
            Array.Sort(times[c]);
            CompiledTierStatistics s = statistics[c];
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{workload,-17} {configurations[c].Name,-20} rounds={rounds} instructions={retired[c]} median-s={times[c][rounds / 2]:F3} MIPS={retired[c] / times[c][rounds / 2] / 1e6:F1} blocks-compiled={s.BlocksCompiled} compile-ms={s.CompileTime.TotalMilliseconds:F0} deferred={s.CompilesDeferred} compiled-entries={s.CompiledBlockEntries}"));
        }
    }
}
