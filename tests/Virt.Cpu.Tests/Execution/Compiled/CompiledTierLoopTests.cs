using Iced.Intel;
using Virt.Cpu.Tests.ProtectedMode;
using Virt.Memory;
using Xunit;
using static Iced.Intel.AssemblerRegisters;

namespace Virt.Cpu.Tests.Execution.Compiled;

/// <summary>
/// Self-loops inside a compiled block's method (src/Virt.Cpu/Execution/Compiled/Cpu.CompiledLoop.cs and
/// BlockEmitter.Loop.cs): budget slices that end at iteration boundaries and inside iterations, virtual-time interrupts
/// inside the loop, a store into the loop's own code, and a stop request or host hook from another thread all end in the
/// interpreter's state, byte for byte, with the retired count exact.
/// </summary>
public sealed class CompiledTierLoopTests
{
    private const int TimerVector = 0x20;
    private const uint DataBase = 0x20000;
    private const uint TickCounter = DataBase + 0x40;

    /// <summary>Instructions per iteration of <see cref="SelfLoop"/>.</summary>
    private const int LoopLength = 8;

    /// <summary>Instructions before <see cref="SelfLoop"/>'s loop.</summary>
    private const int LoopSetup = 2;

    /// <summary>
    /// One block that branches back to its own start: generated ALU work, an inline store, and DEC/JNZ (8 instructions
    /// per iteration), then CLI and HLT.
    /// </summary>
    private static void SelfLoop(Assembler a, uint iterations)
    {
        Label top = a.CreateLabel();
        a.mov(ecx, iterations);
        a.mov(ebp, DataBase);
        a.Label(ref top);
        a.add(eax, ecx);
        a.xor(ebx, eax);
        a.lea(edx, __[ebx + eax * 2 + 1]);
        a.mov(__dword_ptr[ebp + 8], edx);
        a.inc(esi);
        a.sub(edi, esi);
        a.dec(ecx);
        a.jne(top);
        a.cli();
        a.hlt();
    }

    [Theory]
    [InlineData(0)]
    [InlineData(2)]
    public void Slices_ending_at_and_inside_iterations_retire_what_the_interpreter_does(int threshold)
    {
        var interpreter = new ProtectedModeHarness(options: TierComparison.Interpreter);
        var compiled = new ProtectedModeHarness(options: TierComparison.Compiled(threshold));
        interpreter.Load(a => SelfLoop(a, 2000));
        compiled.Load(a => SelfLoop(a, 2000));

        // The setup first, then slices of whole iterations (ending at a boundary), of every length inside one iteration,
        // and of several iterations plus a part, so the loop's budget test meets every position.
        long[] budgets = [LoopSetup, LoopLength, LoopLength, 2 * LoopLength, 1, 2, 3, 4, 5, 6, 7, LoopLength - 1 + LoopLength, 9, 10 * LoopLength, 10 * LoopLength + 3, 1000, 5 * LoopLength];
        StopReason stop = StopReason.BudgetExhausted;
        for (int i = 0; stop == StopReason.BudgetExhausted; i++)
        {
            long budget = budgets[i < budgets.Length ? i : 1 + (i % (budgets.Length - 1))];
            long before = compiled.Cpu.RetiredInstructions;
            stop = interpreter.Cpu.Run(budget);
            Assert.Equal(stop, compiled.Cpu.Run(budget));
            Assert.True(compiled.Cpu.RetiredInstructions - before <= budget, $"slice {i} ran past its budget of {budget}");
            TierComparison.AssertSameState(interpreter.Cpu, interpreter.Memory, compiled.Cpu, compiled.Memory, CpuHarness.DefaultRamBytes, $"slice {i} of {budget}", compareRam: false);
        }

        Assert.Equal(StopReason.Halted, stop);
        TierComparison.AssertSameState(interpreter.Cpu, interpreter.Memory, compiled.Cpu, compiled.Memory, CpuHarness.DefaultRamBytes, "end");
        Assert.Equal(LoopSetup + (LoopLength * 2000) + 2, compiled.Cpu.RetiredInstructions);
        Assert.True(compiled.Cpu.CompiledLoopIterations > 500, $"only {compiled.Cpu.CompiledLoopIterations} iterations looped inside the method");
    }

    [Fact]
    public void One_run_loops_inside_the_method_and_stops_at_its_budget()
    {
        var interpreter = new ProtectedModeHarness(options: TierComparison.Interpreter);
        var compiled = new ProtectedModeHarness(options: TierComparison.Compiled(0));
        interpreter.Load(a => SelfLoop(a, 100_000));
        compiled.Load(a => SelfLoop(a, 100_000));
        foreach (long budget in new long[] { 100, 300_001, 5 })
        {
            Assert.Equal(StopReason.BudgetExhausted, compiled.Cpu.Run(budget));
            Assert.Equal(StopReason.BudgetExhausted, interpreter.Cpu.Run(budget));
            TierComparison.AssertSameState(interpreter.Cpu, interpreter.Memory, compiled.Cpu, compiled.Memory, CpuHarness.DefaultRamBytes, $"after {budget}");
        }

        Assert.Equal(300_106, compiled.Cpu.RetiredInstructions);
        Assert.True(compiled.Cpu.CompiledLoopIterations > 30_000, $"only {compiled.Cpu.CompiledLoopIterations} iterations looped inside the method");
    }

    [Theory]
    [InlineData(0, 1)]
    [InlineData(0, 5)]
    [InlineData(0, 37)]
    [InlineData(2, 113)]
    public void Interrupts_raised_by_virtual_time_inside_the_loop_are_taken_at_the_interpreters_boundaries(int threshold, int period)
    {
        (ProtectedModeHarness interpreter, long interpreterTicks) = RunWithVirtualTimer(TierComparison.Interpreter, period);
        (ProtectedModeHarness compiled, long compiledTicks) = RunWithVirtualTimer(TierComparison.Compiled(threshold), period);
        TierComparison.AssertSameState(interpreter.Cpu, interpreter.Memory, compiled.Cpu, compiled.Memory, CpuHarness.DefaultRamBytes, "end");
        Assert.Equal(interpreterTicks, compiledTicks);
        Assert.True(interpreterTicks > 50, $"only {interpreterTicks} timer interrupts were taken");
        Assert.Equal((uint)interpreterTicks, interpreter.Dword(TickCounter));
        if (period > LoopLength)
        {
            Assert.True(compiled.Cpu.CompiledLoopIterations > 0, "nothing looped inside the method");
        }
    }

    [Theory]
    [InlineData(0)]
    [InlineData(3)]
    public void A_store_into_the_loops_own_code_ends_the_loop_at_the_store(int threshold)
    {
        var interpreter = new ProtectedModeHarness(options: TierComparison.Interpreter);
        var compiled = new ProtectedModeHarness(options: TierComparison.Compiled(threshold));
        foreach (ProtectedModeHarness machine in new[] { interpreter, compiled })
        {
            machine.Load(SelfModifyingSelfLoop);
            machine.Cpu.SetRegister(GeneralRegister.Rcx, 4001);
            Assert.Equal(StopReason.Halted, machine.Cpu.Run(1_000_000));
        }

        TierComparison.AssertSameState(interpreter.Cpu, interpreter.Memory, compiled.Cpu, compiled.Memory, CpuHarness.DefaultRamBytes, "end");
        Assert.True(compiled.Cpu.CompiledLoopIterations > 100, $"only {compiled.Cpu.CompiledLoopIterations} iterations looped inside the method");

        // The sum depends on every rewritten immediate: a stale iteration would have added an older one.
        Assert.NotEqual(0UL, compiled.Cpu.GetRegister(GeneralRegister.Rdx));
    }

    [Fact]
    public void A_stop_requested_from_another_thread_ends_the_loop_at_an_instruction_boundary()
    {
        var compiled = new ProtectedModeHarness(options: TierComparison.Compiled(0));
        compiled.Load(a => SelfLoop(a, uint.MaxValue));
        using var signal = new ManualResetEventSlim();
        var controller = new SignallingController(compiled.Cpu, 100_000, signal);
        compiled.Cpu.InterruptController = controller;
        compiled.Cpu.Flags |= InterruptFlag;
        var other = new Thread(() =>
        {
            signal.Wait();
            compiled.Cpu.RequestStop();
        });
        other.Start();
        StopReason stop = compiled.Cpu.Run(long.MaxValue);
        other.Join();
        Assert.Equal(StopReason.StopRequested, stop);
        Assert.True(compiled.Cpu.CompiledLoopIterations > 0, "nothing looped inside the method");
        AssertSameAsInterpreterAfterSameCount(compiled);
    }

    [Fact]
    public void A_host_hook_set_from_another_thread_is_seen_by_the_loop()
    {
        var compiled = new ProtectedModeHarness(options: TierComparison.Compiled(0));
        compiled.Load(a => SelfLoop(a, uint.MaxValue));
        using var signal = new ManualResetEventSlim();
        compiled.Cpu.InterruptController = new SignallingController(compiled.Cpu, 100_000, signal);
        compiled.Cpu.Flags |= InterruptFlag;
        long hookCalls = 0;
        var other = new Thread(() =>
        {
            signal.Wait();

            // The hook stops the run at the first block entry it sees, so the run ends only if the loop noticed it.
            compiled.Cpu.BlockHook = (_, _, _) =>
            {
                hookCalls++;
                compiled.Cpu.RequestStop();
            };
        });
        other.Start();
        StopReason stop = compiled.Cpu.Run(long.MaxValue);
        other.Join();
        Assert.Equal(StopReason.StopRequested, stop);
        Assert.True(hookCalls > 0, "the block hook was never called");
        Assert.True(compiled.Cpu.CompiledLoopIterations > 0, "nothing looped inside the method");
        compiled.Cpu.BlockHook = null;
        AssertSameAsInterpreterAfterSameCount(compiled);
    }

    /// <summary>EFLAGS.IF.</summary>
    private const uint InterruptFlag = 1U << 9;

    /// <summary>Runs the interpreter over the same program for as many instructions as <paramref name="compiled"/> retired and compares.</summary>
    private static void AssertSameAsInterpreterAfterSameCount(ProtectedModeHarness compiled)
    {
        var interpreter = new ProtectedModeHarness(options: TierComparison.Interpreter);
        interpreter.Load(a => SelfLoop(a, uint.MaxValue));
        interpreter.Cpu.Flags |= InterruptFlag;
        Assert.Equal(StopReason.BudgetExhausted, interpreter.Cpu.Run(compiled.Cpu.RetiredInstructions));
        TierComparison.AssertSameState(interpreter.Cpu, interpreter.Memory, compiled.Cpu, compiled.Memory, CpuHarness.DefaultRamBytes, "at the stop");
    }

    /// <summary>
    /// One block, first at the code address, whose first instruction's immediate is added to EDX each iteration; every
    /// 256th iteration its store (to an address computed without branches) hits that immediate instead of the data.
    /// ECX (set by the caller) counts down.
    /// </summary>
    private static void SelfModifyingSelfLoop(Assembler a)
    {
        Label top = a.CreateLabel();
        a.Label(ref top);

        // B8 imm32: its immediate is the dword after the code address.
        a.mov(ebx, 0x11111111);
        a.add(edx, ebx);
        a.mov(edi, ecx);
        a.and(edi, 255);
        a.sub(edi, 1);
        a.sar(edi, 31);
        a.and(edi, unchecked((int)(ProtectedModeHarness.CodeAddress + 1 - DataBase)));
        a.add(edi, DataBase);
        a.mov(__dword_ptr[edi], eax);
        a.add(eax, 0x01010101);
        a.dec(ecx);
        a.jne(top);
        a.hlt();
    }

    private static (ProtectedModeHarness Machine, long Ticks) RunWithVirtualTimer(CpuOptions options, int period)
    {
        var machine = new ProtectedModeHarness(options: options);
        machine.Load(a =>
        {
            a.sti();
            SelfLoop(a, 4000);
        });
        machine.InstallGate(TimerVector);
        machine.Memory.Write(new PhysicalAddress(ProtectedModeHarness.HandlerAddress(TimerVector)), ProtectedModeHarness.Assemble(32, a =>
        {
            a.inc(__dword_ptr[TickCounter]);
            a.iretd();
        }, ProtectedModeHarness.HandlerAddress(TimerVector)));

        var timer = new VirtualTimer(machine.Cpu, TimerVector, period);
        machine.Cpu.InterruptController = timer;

        // Large budgets: the interrupts come from virtual time inside the runs (inside the loop), not at budget boundaries.
        StopReason stop = StopReason.BudgetExhausted;
        for (int i = 0; stop == StopReason.BudgetExhausted && i < 1000; i++)
        {
            stop = machine.Cpu.Run(50_000);
        }

        Assert.Equal(StopReason.Halted, stop);
        return (machine, timer.Acknowledged);
    }

    /// <summary>
    /// An interrupt controller that never raises INTR but, once the CPU retired <paramref name="after"/> instructions,
    /// signals another thread from inside the run (the loop's test reads INTR while IF is set).
    /// </summary>
    private sealed class SignallingController(Cpu cpu, long after, ManualResetEventSlim signal) : IInterruptController
    {
        public bool IsInterruptPending
        {
            get
            {
                if (cpu.RetiredInstructions >= after && !signal.IsSet)
                {
                    signal.Set();
                }

                return false;
            }
        }

        public byte Acknowledge() => throw new InvalidOperationException("INTR was never raised.");
    }
}
