using System.Globalization;
using Virt.Cpu;

namespace Virt.Run;

/// <summary>
/// The line <c>--tier-stats</c> prints to standard error when the run ends: the host time the run took, the guest
/// instructions retired, the compiled tier's <see cref="CompiledTierStatistics"/> and the runtime JIT's own totals, as
/// <c>key=value</c> fields so that scripts (and docs/performance.md's boot table) can pick them up.
/// </summary>
/// <remarks>
/// The runtime's figures (<see cref="System.Runtime.JitInfo"/>) are there because the tier's compile time covers
/// building a block's IL and its delegate, while the runtime compiles the method to native code on its first call:
/// the JIT time of the whole process under the compiled tier, less the same figure under the interpreter, is that part.
/// </remarks>
public static class TierStatisticsReport
{
    /// <summary>Formats the report line.</summary>
    /// <param name="tier">The tier the CPU ran with.</param>
    /// <param name="hostTime">Host (wall-clock) time from the first guest instruction to the stop.</param>
    /// <param name="retiredInstructions">The guest instructions the CPU retired.</param>
    /// <param name="statistics">The compiled tier's statistics (all zero under the interpreter).</param>
    /// <param name="runtimeJitTime">The runtime's JIT time for the whole process (<see cref="System.Runtime.JitInfo.GetCompilationTime"/>).</param>
    /// <param name="runtimeJitMethods">The methods the runtime compiled in the whole process.</param>
    /// <returns>One line, without a line end.</returns>
    public static string Format(
        ExecutionTier tier, TimeSpan hostTime, long retiredInstructions, CompiledTierStatistics statistics, TimeSpan runtimeJitTime, long runtimeJitMethods)
    {
        CultureInfo c = CultureInfo.InvariantCulture;
        double seconds = hostTime.TotalSeconds;
        double mips = seconds > 0 ? retiredInstructions / seconds / 1e6 : 0;
        return string.Create(
            c,
            $"Virt.Run: tier-stats: tier={(tier == ExecutionTier.Compiled ? "compiled" : "interpreter")} host-time={seconds:0.000}s "
            + $"instructions={retiredInstructions} mips={mips:0.0} "
            + $"blocks-compiled={statistics.BlocksCompiled} compile-time={statistics.CompileTime.TotalMilliseconds:0.0}ms "
            + $"il-bytes={statistics.IlBytes} code-cache={statistics.CodeSizeInBytes}B live-blocks={statistics.CompiledBlocksLive} "
            + $"evictions={statistics.Evictions} compiled-entries={statistics.CompiledBlockEntries} side-exits={statistics.SideExits} "
            + $"runtime-jit-time={runtimeJitTime.TotalMilliseconds:0.0}ms runtime-jit-methods={runtimeJitMethods}");
    }

    /// <summary>Writes the report of <paramref name="cpu"/>'s run to <paramref name="writer"/>.</summary>
    /// <param name="writer">Where the line goes (standard error in Virt.Run).</param>
    /// <param name="cpu">The CPU that ran.</param>
    /// <param name="hostTime">Host time of the run.</param>
    public static void Write(TextWriter writer, Virt.Cpu.Cpu cpu, TimeSpan hostTime) =>
        writer.WriteLine(Format(
            cpu.ExecutionTier,
            hostTime,
            cpu.RetiredInstructions,
            cpu.CompiledTierStatistics,
            System.Runtime.JitInfo.GetCompilationTime(),
            System.Runtime.JitInfo.GetCompiledMethodCount()));
}
