using Xunit;
using static Iced.Intel.AssemblerRegisters;

namespace Virt.Cpu.Tests;

/// <summary>
/// The suite's tier switch (<see cref="CompiledTierSuiteSwitch"/>): the same tests run on the interpreter by default and on
/// the compiled tier under <c>VIRT_TEST_CPU_TIER=compiled</c>, so these check that the run really is on the tier it names.
/// </summary>
public sealed class CompiledTierSuiteSwitchTests
{
    private const int Iterations = 10;
    private const ushort Step = 3;

    private static bool SwitchedToCompiled =>
        string.Equals(Environment.GetEnvironmentVariable(CompiledTierSuiteSwitch.VariableName), "compiled", StringComparison.OrdinalIgnoreCase);

    [Fact]
    public void ACpuWithTheDefaultTierRunsTheTierTheSwitchNames()
    {
        var machine = new CpuHarness();
        StopReason stop = machine.Run(a =>
        {
            Iced.Intel.Label loop = a.CreateLabel();
            a.xor(ax, ax);
            a.mov(cx, Iterations);
            a.Label(ref loop);
            a.add(ax, Step);
            a.loop(loop);
            a.hlt();
        });

        Assert.Equal(StopReason.Halted, stop);
        Assert.Equal((ulong)(Iterations * Step), machine.Cpu.GetRegister(GeneralRegister.Rax) & 0xFFFF);
        CompiledTierStatistics statistics = machine.Cpu.CompiledTierStatistics;
        if (SwitchedToCompiled)
        {
            // Threshold 0: the loop's block is compiled on its first entry and every later iteration enters it compiled.
            Assert.Equal(ExecutionTier.Compiled, machine.Cpu.ExecutionTier);
            Assert.True(statistics.BlocksCompiled > 0, $"nothing compiled: {statistics}");
            Assert.True(statistics.CompiledBlockEntries > 0, $"no compiled block entered: {statistics}");
        }
        else
        {
            Assert.Equal(ExecutionTier.Interpreter, machine.Cpu.ExecutionTier);
            Assert.Equal(default, statistics);
        }
    }

    [Fact]
    public void ACpuThatNamesItsTierKeepsIt()
    {
        var machine = new CpuHarness(new CpuOptions { ExecutionTier = ExecutionTier.Interpreter });
        Assert.Equal(ExecutionTier.Interpreter, machine.Cpu.ExecutionTier);
    }
}
