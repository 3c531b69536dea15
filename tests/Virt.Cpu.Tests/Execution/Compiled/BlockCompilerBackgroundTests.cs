using Iced.Intel;
using Virt.Cpu.Tests.ProtectedMode;
using Virt.Memory;
using Xunit;
using static Iced.Intel.AssemblerRegisters;

namespace Virt.Cpu.Tests.Execution.Compiled;

/// <summary>
/// Background compilation (src/Virt.Cpu/Execution/Compiled/BlockCompiler.Background.cs, CompileWorker.cs): the guest's
/// results are the interpreter's, a block whose bytes change while it is compiled never runs its stale code, and the
/// worker thread ends when idle.
/// </summary>
[Collection(NonParallelCollection.Name)]
public sealed class BlockCompilerBackgroundTests
{
    private const uint LoopStart = ProtectedModeHarness.CodeAddress + 5;
    private static readonly TimeSpan WorkerWait = TimeSpan.FromSeconds(60);

    private static CpuOptions Background(int threshold) => TierComparison.Compiled(threshold) with { BackgroundCompilation = true };

    /// <summary>A loop run in slices: the compiled form is attached at an entry after the worker finished it, and the state is the interpreter's.</summary>
    [Theory]
    [InlineData(0)]
    [InlineData(50)] // the loop's 30,000 instructions are far less than the default threshold's work
    public void A_loop_compiled_in_the_background_ends_in_the_interpreters_state(int threshold)
    {
        ProtectedModeHarness reference = LoadLoop(TierComparison.Interpreter, 0x1234_5678);
        ProtectedModeHarness background = LoadLoop(Background(threshold), 0x1234_5678);
        BlockCompiler compiler = background.Cpu.BlockCompiler!;
        foreach (int slice in new[] { 500, 3000, 1, 7000, 20_000 })
        {
            Assert.Equal(StopReason.BudgetExhausted, reference.Cpu.Run(slice));
            Assert.Equal(StopReason.BudgetExhausted, background.Cpu.Run(slice));
            TierComparison.AssertSameState(reference.Cpu, reference.Memory, background.Cpu, background.Memory, CpuHarness.DefaultRamBytes, $"after a slice of {slice}");
            Assert.True(compiler.WaitForFinished(WorkerWait), "the worker did not finish");
        }

        CompiledTierStatistics statistics = background.Cpu.CompiledTierStatistics;
        Assert.True(statistics.BlocksCompiled > 0, "nothing was attached");
        Assert.True(statistics.CompiledBlockEntries > 0, "no compiled entry");

        // The block at the code's start ran once: its result waits for an uncompiled entry that never comes, within the bound.
        Assert.InRange(compiler.PendingCompiles, 0, BlockCompiler.MaxPendingCompiles);
    }

    /// <summary>
    /// The loop's block is compiled on the worker, then its bytes are rewritten before the run thread attaches it: the
    /// result is dropped (counted as an invalidation), and the new bytes run, as on the interpreter.
    /// </summary>
    [Fact]
    public void A_block_rewritten_while_it_is_compiled_never_runs_its_stale_code()
    {
        ProtectedModeHarness reference = LoadLoop(TierComparison.Interpreter, 1);
        ProtectedModeHarness background = LoadLoop(Background(0), 1);
        BlockCompiler compiler = background.Cpu.BlockCompiler!;
        var attached = new List<ulong>();
        compiler.BlockAttached = attached.Add;

        reference.Cpu.Run(50);
        background.Cpu.Run(50);
        Assert.True(compiler.PendingCompiles > 0, "nothing was queued");
        Assert.True(compiler.WaitForFinished(WorkerWait), "the worker did not finish");

        // MOV EBX, 1 becomes MOV EBX, 1000h in both: the block the worker compiled held the old immediate.
        foreach (ProtectedModeHarness machine in new[] { reference, background })
        {
            machine.Memory.WriteDoubleWord(new PhysicalAddress(LoopStart + 1), 0x1000);
        }

        Assert.Equal(StopReason.BudgetExhausted, reference.Cpu.Run(5000));
        Assert.Equal(StopReason.BudgetExhausted, background.Cpu.Run(5000));
        TierComparison.AssertSameState(reference.Cpu, reference.Memory, background.Cpu, background.Memory, CpuHarness.DefaultRamBytes, "after the rewrite");
        CompiledTierStatistics statistics = background.Cpu.CompiledTierStatistics;
        Assert.True(statistics.BlocksInvalidated >= 1, "the stale result was not counted");
        Assert.True(compiler.BackoffLevel(LoopStart >> 12) > 0, "the page did not back off");
    }

    /// <summary>The shared worker thread ends once it has had nothing to do for a while (no thread outlives its CPUs for long).</summary>
    [Fact]
    public void The_worker_thread_ends_when_idle()
    {
        ProtectedModeHarness background = LoadLoop(Background(0), 3);
        background.Cpu.Run(1000);
        Assert.True(background.Cpu.BlockCompiler!.WaitForFinished(WorkerWait), "the worker did not finish");

        long end = Environment.TickCount64 + (long)WorkerWait.TotalMilliseconds;
        while (CompileWorker.IsRunning && Environment.TickCount64 < end)
        {
            Thread.Sleep(50);
        }

        Assert.False(CompileWorker.IsRunning, "the worker thread is still running");
    }

    /// <summary>MOV ECX, 0; loop: MOV EBX, imm; ADD EAX, EBX; INC ECX; LEA EDX, [EAX + ECX*2]; XOR ESI, EDX; JMP loop.</summary>
    private static ProtectedModeHarness LoadLoop(CpuOptions options, uint immediate)
    {
        var machine = new ProtectedModeHarness(options: options);
        machine.Load(a =>
        {
            Label top = a.CreateLabel();
            a.mov(ecx, 0);
            a.Label(ref top);
            a.mov(ebx, immediate);
            a.add(eax, ebx);
            a.inc(ecx);
            a.lea(edx, __[eax + ecx * 2]);
            a.xor(esi, edx);
            a.jmp(top);
        });
        Assert.Equal(0xBB, machine.Memory.ReadByte(new PhysicalAddress(LoopStart))); // MOV EBX, imm32 at the loop's start
        return machine;
    }
}
