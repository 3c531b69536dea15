using Virt.Memory;
using Xunit;

namespace Virt.Cpu.Tests.Execution.Compiled;

/// <summary>
/// Compares two CPUs that ran the same guest, one per tier: every general register, EIP, the instruction start, EFLAGS and
/// the raw lazy-flag record (byte-identical state, not only equal flags), the retired count, halt and shutdown, the last
/// exception, and all of RAM.
/// </summary>
internal static class TierComparison
{
    /// <summary>The interpreter tier by name (so the suite's tier switch, CompiledTierSuiteSwitch, leaves it alone).</summary>
    public static CpuOptions Interpreter => new() { ExecutionTier = ExecutionTier.Interpreter };

    /// <summary>Options for the compiled tier that compile every block on its first entry (or after <paramref name="threshold"/> interpreted entries).</summary>
    public static CpuOptions Compiled(int threshold = 0) => new() { ExecutionTier = ExecutionTier.Compiled, CompileThreshold = threshold };

    public static void AssertSameState(Cpu expected, PhysicalMemoryMap expectedMemory, Cpu actual, PhysicalMemoryMap actualMemory, ulong ramBytes, string where, bool compareRam = true)
    {
        ref CpuContext e = ref expected.Context;
        ref CpuContext a = ref actual.Context;
        for (int r = 0; r < 16; r++)
        {
            Assert.True(e.Gpr[r] == a.Gpr[r], $"{where}: register {(GeneralRegister)r} interpreter {e.Gpr[r]:X} compiled {a.Gpr[r]:X}");
        }

        Assert.True(e.Rip == a.Rip, $"{where}: RIP interpreter {e.Rip:X} compiled {a.Rip:X}");
        Assert.True(e.InstructionStart == a.InstructionStart, $"{where}: instruction start interpreter {e.InstructionStart:X} compiled {a.InstructionStart:X}");
        Assert.True(e.Eflags == a.Eflags, $"{where}: raw EFLAGS interpreter {e.Eflags:X} compiled {a.Eflags:X}");
        Assert.True(e.LazyOp == a.LazyOp, $"{where}: lazy operation interpreter {e.LazyOp} compiled {a.LazyOp}");
        Assert.True(e.LazyDst == a.LazyDst && e.LazySrc == a.LazySrc && e.LazyRes == a.LazyRes && e.LazySize == a.LazySize && e.LazyCarryIn == a.LazyCarryIn,
            $"{where}: lazy record interpreter ({e.LazyDst:X}, {e.LazySrc:X}, {e.LazyRes:X}, {e.LazySize}, {e.LazyCarryIn}) compiled ({a.LazyDst:X}, {a.LazySrc:X}, {a.LazyRes:X}, {a.LazySize}, {a.LazyCarryIn})");
        Assert.True(expected.Flags == actual.Flags, $"{where}: EFLAGS interpreter {expected.Flags:X} compiled {actual.Flags:X}");
        Assert.True(expected.RetiredInstructions == actual.RetiredInstructions, $"{where}: retired interpreter {expected.RetiredInstructions} compiled {actual.RetiredInstructions}");
        Assert.True(expected.IsHalted == actual.IsHalted, $"{where}: halted interpreter {expected.IsHalted} compiled {actual.IsHalted}");
        Assert.True(expected.IsShutdown == actual.IsShutdown, $"{where}: shutdown interpreter {expected.IsShutdown} compiled {actual.IsShutdown}");
        Assert.True(expected.LastExceptionVector == actual.LastExceptionVector, $"{where}: last exception interpreter {expected.LastExceptionVector} compiled {actual.LastExceptionVector}");

        if (!compareRam)
        {
            return;
        }

        byte[] expectedRam = new byte[ramBytes];
        byte[] actualRam = new byte[ramBytes];
        expectedMemory.Read(new PhysicalAddress(0), expectedRam);
        actualMemory.Read(new PhysicalAddress(0), actualRam);
        int differs = expectedRam.AsSpan().CommonPrefixLength(actualRam);
        Assert.True(differs == expectedRam.Length, $"{where}: RAM differs at {differs:X}");
    }
}
