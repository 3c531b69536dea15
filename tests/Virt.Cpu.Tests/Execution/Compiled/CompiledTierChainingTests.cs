using Iced.Intel;
using Virt.Cpu.Tests.ProtectedMode;
using Virt.Memory;
using Xunit;
using static Iced.Intel.AssemblerRegisters;

namespace Virt.Cpu.Tests.Execution.Compiled;

/// <summary>
/// Chaining of compiled blocks (src/Virt.Cpu/Execution/Compiled/Cpu.CompiledChaining.cs): loops across several blocks,
/// budgets that end inside a chain, interrupts raised by virtual time inside a chain, and code rewritten in a chained
/// successor all end in the interpreter's state, with the retired count exact after every slice.
/// </summary>
public sealed class CompiledTierChainingTests
{
    private const int TimerVector = 0x20;
    private const uint DataBase = 0x20000;
    private const uint TickCounter = DataBase + 0x40;

    /// <summary>A four-block loop (each block ends in JMP or Jcc) of 12 instructions per iteration, then CLI and HLT.</summary>
    private static void FourBlockLoop(Assembler a, uint iterations)
    {
        Label top = a.CreateLabel();
        Label second = a.CreateLabel();
        Label third = a.CreateLabel();
        Label fourth = a.CreateLabel();
        a.mov(ecx, iterations);
        a.mov(ebp, DataBase);
        a.Label(ref top);
        a.add(eax, ecx);
        a.xor(ebx, eax);
        a.jmp(second);
        a.Label(ref third);
        a.lea(edx, __[ebx + eax * 2 + 1]);
        a.sub(edx, 5);
        a.jmp(fourth);
        a.Label(ref second);
        a.inc(esi);
        a.and(esi, 0xFF);
        a.mov(__dword_ptr[ebp + 8], esi);
        a.jmp(third);
        a.Label(ref fourth);
        a.dec(ecx);
        a.jne(top);
        a.cli();
        a.hlt();
    }

    [Theory]
    [InlineData(0)]
    [InlineData(2)]
    public void A_loop_across_blocks_chains_and_each_slice_retires_what_the_interpreter_does(int threshold)
    {
        var interpreter = new ProtectedModeHarness(options: TierComparison.Interpreter);
        var compiled = new ProtectedModeHarness(options: TierComparison.Compiled(threshold));
        interpreter.Load(a => FourBlockLoop(a, 3000));
        compiled.Load(a => FourBlockLoop(a, 3000));

        // Slices of assorted sizes, most ending inside a block or inside a chain, then large ones that chain for long.
        long[] budgets = [1, 2, 3, 5, 7, 11, 13, 17, 100, 257, 1000, 4999, 10_000, 100_000];
        StopReason stop = StopReason.BudgetExhausted;
        for (int i = 0; stop == StopReason.BudgetExhausted; i++)
        {
            long budget = budgets[i % budgets.Length];
            long before = compiled.Cpu.RetiredInstructions;
            stop = interpreter.Cpu.Run(budget);
            Assert.Equal(stop, compiled.Cpu.Run(budget));
            Assert.True(compiled.Cpu.RetiredInstructions - before <= budget, $"slice {i} ran past its budget of {budget}");
            TierComparison.AssertSameState(interpreter.Cpu, interpreter.Memory, compiled.Cpu, compiled.Memory, CpuHarness.DefaultRamBytes, $"slice {i}", compareRam: false);
        }

        Assert.Equal(StopReason.Halted, stop);
        TierComparison.AssertSameState(interpreter.Cpu, interpreter.Memory, compiled.Cpu, compiled.Memory, CpuHarness.DefaultRamBytes, "end");
        Assert.Equal(2 + (12 * 3000) + 2, compiled.Cpu.RetiredInstructions);
        Assert.True(compiled.Cpu.ChainedBlockEntries > 4 * 2000, $"only {compiled.Cpu.ChainedBlockEntries} chained entries");
    }

    [Fact]
    public void A_budget_ends_exactly_inside_a_chain()
    {
        // One Run over many chained blocks stops at exactly its budget, mid-block, as the interpreter does.
        var interpreter = new ProtectedModeHarness(options: TierComparison.Interpreter);
        var compiled = new ProtectedModeHarness(options: TierComparison.Compiled(0));
        interpreter.Load(a => FourBlockLoop(a, 3000));
        compiled.Load(a => FourBlockLoop(a, 3000));
        Assert.Equal(StopReason.BudgetExhausted, compiled.Cpu.Run(100));
        Assert.Equal(StopReason.BudgetExhausted, interpreter.Cpu.Run(100));
        long chainedBefore = compiled.Cpu.ChainedBlockEntries;
        Assert.Equal(StopReason.BudgetExhausted, compiled.Cpu.Run(20_003));
        Assert.Equal(StopReason.BudgetExhausted, interpreter.Cpu.Run(20_003));
        Assert.Equal(20_103, compiled.Cpu.RetiredInstructions);
        Assert.True(compiled.Cpu.ChainedBlockEntries - chainedBefore > 1000, "the run did not chain");
        TierComparison.AssertSameState(interpreter.Cpu, interpreter.Memory, compiled.Cpu, compiled.Memory, CpuHarness.DefaultRamBytes, "end");
    }

    [Theory]
    [InlineData(0, 37)]
    [InlineData(0, 1)]
    [InlineData(3, 113)]
    public void Interrupts_raised_by_virtual_time_are_taken_at_the_interpreters_boundaries(int threshold, int period)
    {
        (ProtectedModeHarness interpreter, long interpreterTicks) = RunWithVirtualTimer(TierComparison.Interpreter, period);
        (ProtectedModeHarness compiled, long compiledTicks) = RunWithVirtualTimer(TierComparison.Compiled(threshold), period);
        TierComparison.AssertSameState(interpreter.Cpu, interpreter.Memory, compiled.Cpu, compiled.Memory, CpuHarness.DefaultRamBytes, "end");
        Assert.Equal(interpreterTicks, compiledTicks);
        Assert.True(interpreterTicks > 50, $"only {interpreterTicks} timer interrupts were taken");
        Assert.Equal((uint)interpreterTicks, interpreter.Dword(TickCounter));
        Assert.True(compiled.Cpu.ChainedBlockEntries > 0, "nothing was chained");
    }

    [Theory]
    [InlineData(0)]
    [InlineData(2)]
    public void Code_rewritten_in_a_chained_successor_is_not_run_stale(int threshold)
    {
        var interpreter = new ProtectedModeHarness(options: TierComparison.Interpreter);
        var compiled = new ProtectedModeHarness(options: TierComparison.Compiled(threshold));
        foreach (ProtectedModeHarness machine in new[] { interpreter, compiled })
        {
            machine.Load(SelfModifyingLoop);
            machine.Cpu.SetRegister(GeneralRegister.Rcx, 801);
            Assert.Equal(StopReason.Halted, machine.Cpu.Run(1_000_000));
        }

        TierComparison.AssertSameState(interpreter.Cpu, interpreter.Memory, compiled.Cpu, compiled.Memory, CpuHarness.DefaultRamBytes, "end");
        Assert.True(compiled.Cpu.ChainedBlockEntries > 100, $"only {compiled.Cpu.ChainedBlockEntries} chained entries");

        // The loop's sum depends on every rewritten immediate: a stale successor would have added an older one.
        Assert.NotEqual(0UL, compiled.Cpu.GetRegister(GeneralRegister.Rdx));
    }

    [Fact]
    public void A_block_chained_to_itself_runs_in_a_loop_not_in_nested_calls()
    {
        // Two million single-block iterations in one Run: nested calls would overflow the host stack.
        var compiled = new ProtectedModeHarness(options: TierComparison.Compiled(0));
        compiled.Load(a =>
        {
            Label top = a.CreateLabel();
            a.Label(ref top);
            a.add(eax, 1);
            a.jmp(top);
        });
        Assert.Equal(StopReason.BudgetExhausted, compiled.Cpu.Run(4_000_001));
        Assert.Equal(4_000_001, compiled.Cpu.RetiredInstructions);
        Assert.Equal(2_000_001UL, compiled.Cpu.GetRegister(GeneralRegister.Rax));
        Assert.True(compiled.Cpu.ChainedBlockEntries > 1_900_000, $"only {compiled.Cpu.ChainedBlockEntries} chained entries");
    }

    [Fact]
    public void Without_chaining_the_state_is_the_same()
    {
        var chained = new ProtectedModeHarness(options: TierComparison.Compiled(0));
        var unchained = new ProtectedModeHarness(options: TierComparison.Compiled(0));
        unchained.Cpu.ChainCompiledBlocks = false;
        chained.Load(a => FourBlockLoop(a, 500));
        unchained.Load(a => FourBlockLoop(a, 500));
        Assert.Equal(StopReason.Halted, chained.Cpu.Run(100_000));
        Assert.Equal(StopReason.Halted, unchained.Cpu.Run(100_000));
        TierComparison.AssertSameState(unchained.Cpu, unchained.Memory, chained.Cpu, chained.Memory, CpuHarness.DefaultRamBytes, "end");
        Assert.Equal(0, unchained.Cpu.ChainedBlockEntries);
        Assert.True(chained.Cpu.ChainedBlockEntries > 1000, $"only {chained.Cpu.ChainedBlockEntries} chained entries");
    }

    /// <summary>
    /// Block B, first at the code address, adds its MOV's immediate to EDX and loops back to block A while ECX (set by the
    /// caller) counts down; A rewrites B's immediate every fourth iteration and jumps to B, its chained successor.
    /// </summary>
    private static void SelfModifyingLoop(Assembler a)
    {
        Label top = a.CreateLabel();
        Label patch = a.CreateLabel();
        Label store = a.CreateLabel();
        a.Label(ref patch);
        a.mov(ebx, 0x11111111);
        a.add(edx, ebx);
        a.dec(ecx);
        a.jne(top);
        a.hlt();
        a.Label(ref top);
        a.add(eax, 0x01010101);
        a.test(ecx, 3);
        a.je(store);
        a.jmp(patch);
        a.Label(ref store);
        a.mov(edi, eax);

        // B's first instruction is B8 imm32: its immediate is the dword after the code address.
        a.mov(__dword_ptr[ProtectedModeHarness.CodeAddress + 1], edi);
        a.jmp(patch);
    }

    private static (ProtectedModeHarness Machine, long Ticks) RunWithVirtualTimer(CpuOptions options, int period)
    {
        var machine = new ProtectedModeHarness(options: options);
        machine.Load(a =>
        {
            a.sti();
            FourBlockLoop(a, 4000);
        });
        machine.InstallGate(TimerVector);
        machine.Memory.Write(new PhysicalAddress(ProtectedModeHarness.HandlerAddress(TimerVector)), ProtectedModeHarness.Assemble(32, a =>
        {
            a.inc(__dword_ptr[TickCounter]);
            a.iretd();
        }, ProtectedModeHarness.HandlerAddress(TimerVector)));

        var timer = new VirtualTimer(machine.Cpu, TimerVector, period);
        machine.Cpu.InterruptController = timer;

        // Large budgets: the interrupts come from virtual time inside the runs (inside chains), not at budget boundaries.
        StopReason stop = StopReason.BudgetExhausted;
        for (int i = 0; stop == StopReason.BudgetExhausted && i < 1000; i++)
        {
            stop = machine.Cpu.Run(50_000);
        }

        Assert.Equal(StopReason.Halted, stop);
        return (machine, timer.Acknowledged);
    }
}
