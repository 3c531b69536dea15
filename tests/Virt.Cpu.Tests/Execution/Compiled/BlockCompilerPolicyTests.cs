using Iced.Intel;
using Virt.Cpu.Tests.ProtectedMode;
using Virt.Memory;
using Xunit;
using static Iced.Intel.AssemblerRegisters;

namespace Virt.Cpu.Tests.Execution.Compiled;

/// <summary>
/// When the compiled tier compiles (src/Virt.Cpu/Execution/Compiled/BlockCompiler.Policy.cs): work rather than entries,
/// the back-off from code that keeps being rewritten, the compile rate limit, and coldest-first eviction; each against the
/// interpreter's final state.
/// </summary>
public sealed class BlockCompilerPolicyTests
{
    private const uint LoopStart = ProtectedModeHarness.CodeAddress + 5;

    /// <summary>
    /// A hot loop that rewrites the immediate of its own first instruction every few iterations: every rewrite drops the
    /// loop's block. Compiling it again after each rewrite would compile it hundreds of times; the page's back-off stops
    /// that after a few doublings.
    /// </summary>
    [Theory]
    [InlineData(0, 4, 8000)]
    [InlineData(3, 16, 8000)]
    [InlineData(50, 256, 32000)]
    public void A_loop_that_rewrites_itself_is_compiled_a_bounded_number_of_times(int threshold, int rewriteEvery, int iterations)
    {
        ProtectedModeHarness interpreter = RunSelfModifyingLoop(TierComparison.Interpreter, iterations, rewriteEvery);
        ProtectedModeHarness compiled = RunSelfModifyingLoop(TierComparison.Compiled(threshold) with { CompileRateLimit = 0 }, iterations, rewriteEvery);
        TierComparison.AssertSameState(interpreter.Cpu, interpreter.Memory, compiled.Cpu, compiled.Memory, CpuHarness.DefaultRamBytes, "end");

        CompiledTierStatistics statistics = compiled.Cpu.CompiledTierStatistics;
        int rewrites = iterations / rewriteEvery;
        Assert.True(statistics.BlocksInvalidated > 0, "no compiled block was dropped by the rewrites");
        Assert.True(statistics.BlocksCompiled <= 24, $"{statistics.BlocksCompiled} compiles for {rewrites} rewrites");
        Assert.True(compiled.Cpu.BlockCompiler!.BackoffLevel(LoopStart >> 12) > 0, "the loop's page did not back off");
    }

    /// <summary>
    /// A block of 21 instructions whose fourth instruction leaves it at 15 of every 16 entries: it runs about five of its
    /// instructions per entry, so it needs about four times the threshold in entries before it is compiled.
    /// </summary>
    [Fact]
    public void A_block_left_early_is_compiled_after_the_work_of_threshold_full_runs()
    {
        const int Threshold = 50;
        var attached = new List<ulong>();
        ProtectedModeHarness few = RunEarlyExitLoop(TierComparison.Compiled(Threshold), iterations: 100, attached);
        Assert.DoesNotContain(LoopStart, attached);

        attached.Clear();
        ProtectedModeHarness many = RunEarlyExitLoop(TierComparison.Compiled(Threshold), iterations: 2000, attached);
        Assert.Contains(LoopStart, attached);

        ProtectedModeHarness reference = RunEarlyExitLoop(TierComparison.Interpreter, iterations: 2000, []);
        TierComparison.AssertSameState(reference.Cpu, reference.Memory, many.Cpu, many.Memory, CpuHarness.DefaultRamBytes, "end");
        Assert.True(few.Cpu.CompiledTierStatistics.BlocksCompiled < many.Cpu.CompiledTierStatistics.BlocksCompiled);
    }

    /// <summary>
    /// A run through 400 distinct blocks of 17 instructions, each entered once, at threshold 0: compiling all of them would
    /// compile 6800 instructions; the rate limit stops at the first allowance plus one per 1000 retired.
    /// </summary>
    [Fact]
    public void The_rate_limit_bounds_the_instructions_compiled_by_those_retired()
    {
        const int Blocks = 400;
        const int BlockInstructions = 17;
        ProtectedModeHarness limited = RunStraightChain(TierComparison.Compiled(0), Blocks);
        ProtectedModeHarness unlimited = RunStraightChain(TierComparison.Compiled(0) with { CompileRateLimit = 0 }, Blocks);
        foreach ((ProtectedModeHarness compiled, string where) in new[] { (limited, "limited"), (unlimited, "unlimited") })
        {
            // A reference each: the comparison reads EFLAGS through Cpu.Flags, which folds the lazy-flag record.
            ProtectedModeHarness reference = RunStraightChain(TierComparison.Interpreter, Blocks);
            TierComparison.AssertSameState(reference.Cpu, reference.Memory, compiled.Cpu, compiled.Memory, CpuHarness.DefaultRamBytes, where);
        }

        CompiledTierStatistics l = limited.Cpu.CompiledTierStatistics;
        long allowed = BlockCompiler.CompileAllowanceInstructions + (limited.Cpu.RetiredInstructions / CpuOptions.DefaultCompileRateLimit);
        Assert.True(l.InstructionsCompiled <= allowed, $"{l.InstructionsCompiled} instructions compiled, {allowed} allowed");
        Assert.True(l.InstructionsCompiled >= allowed - BlockInstructions, $"only {l.InstructionsCompiled} instructions compiled of {allowed} allowed");
        Assert.True(l.CompilesDeferred > 0, "no compile was deferred");
        Assert.True(unlimited.Cpu.CompiledTierStatistics.BlocksCompiled >= Blocks, $"unlimited: {unlimited.Cpu.CompiledTierStatistics.BlocksCompiled} blocks compiled");
        Assert.Equal(0, unlimited.Cpu.CompiledTierStatistics.CompilesDeferred);
    }

    /// <summary>
    /// A hot dispatch block entered at every iteration, and eight large blocks it jumps to in turn, more than the minimum
    /// budget holds: evictions keep the hot block compiled (it is compiled once), where dropping everything compiled it again
    /// after every eviction.
    /// </summary>
    [Fact]
    public void Eviction_keeps_the_block_entered_most()
    {
        var attached = new List<ulong>();
        CpuOptions options = TierComparison.Compiled(2) with
        {
            CompiledCodeBudgetInBytes = CpuOptions.MinimumCompiledCodeBudgetInBytes,
            CompileRateLimit = 0,
        };
        (ProtectedModeHarness compiled, uint hot) = RunDispatchLoop(options, attached);
        (ProtectedModeHarness reference, _) = RunDispatchLoop(TierComparison.Interpreter, null);
        TierComparison.AssertSameState(reference.Cpu, reference.Memory, compiled.Cpu, compiled.Memory, CpuHarness.DefaultRamBytes, "end");

        CompiledTierStatistics statistics = compiled.Cpu.CompiledTierStatistics;
        Assert.True(statistics.Evictions > 2, $"only {statistics.Evictions} evictions");
        Assert.True(statistics.CodeSizeInBytes <= CpuOptions.MinimumCompiledCodeBudgetInBytes, $"{statistics.CodeSizeInBytes} bytes over the budget");
        Assert.Equal(1, attached.Count(a => a == hot));
        Assert.True(statistics.BlocksEvicted > 0 && statistics.BlocksEvicted < statistics.BlocksCompiled, $"{statistics.BlocksEvicted} of {statistics.BlocksCompiled} evicted");
    }

    private static ProtectedModeHarness RunSelfModifyingLoop(CpuOptions options, int iterations, int rewriteEvery)
    {
        var machine = new ProtectedModeHarness(options: options);
        machine.Load(a =>
        {
            Label top = a.CreateLabel();
            Label skip = a.CreateLabel();
            a.mov(ecx, 0);
            a.Label(ref top);
            a.mov(ebx, 0x1234_5678); // its immediate is rewritten below
            a.add(eax, ebx);
            a.inc(ecx);
            a.mov(edx, ecx);
            a.and(edx, rewriteEvery - 1);
            a.jnz(skip);
            a.mov(__dword_ptr[LoopStart + 1], ecx);
            a.Label(ref skip);
            a.cmp(ecx, iterations);
            a.jb(top);
            a.hlt();
        });
        Assert.Equal(0xBB, machine.Memory.ReadByte(new PhysicalAddress(LoopStart))); // MOV EBX, imm32 at the loop's start
        Assert.Equal(StopReason.Halted, machine.Cpu.Run(10_000_000));
        return machine;
    }

    private static ProtectedModeHarness RunEarlyExitLoop(CpuOptions options, int iterations, List<ulong> attached)
    {
        var machine = new ProtectedModeHarness(options: options);
        machine.Load(a =>
        {
            Label top = a.CreateLabel();
            Label done = a.CreateLabel();
            a.mov(ecx, iterations);
            a.Label(ref top);
            a.dec(ecx);
            a.jz(done);
            a.test(ecx, 15);
            a.jnz(top);
            for (int i = 0; i < 16; i++)
            {
                a.add(eax, i + 1);
            }

            a.jmp(top);
            a.Label(ref done);
            a.hlt();
        });
        if (machine.Cpu.BlockCompiler is { } compiler)
        {
            compiler.BlockAttached = attached.Add;
        }

        Assert.Equal(StopReason.Halted, machine.Cpu.Run(1_000_000));
        return machine;
    }

    private static ProtectedModeHarness RunStraightChain(CpuOptions options, int blocks)
    {
        var machine = new ProtectedModeHarness(options: options);
        machine.Load(a =>
        {
            for (int b = 0; b < blocks; b++)
            {
                Label next = a.CreateLabel();
                for (int i = 0; i < 16; i++)
                {
                    a.add(eax, (b * 16) + i + 1);
                }

                a.jmp(next);
                a.Label(ref next);
            }

            a.hlt();
        });
        Assert.Equal(StopReason.Halted, machine.Cpu.Run(1_000_000));
        return machine;
    }

    /// <summary>A dispatch block that jumps through a table to one of eight blocks of 16 memory additions each, which jump back.</summary>
    private static (ProtectedModeHarness Machine, uint Hot) RunDispatchLoop(CpuOptions options, List<ulong>? attached)
    {
        const uint Table = 0x30000;
        const int Targets = 8;
        var machine = new ProtectedModeHarness(options: options);
        var targets = new Label[Targets];
        uint[] addresses = new uint[Targets];
        uint hot = 0;
        for (int pass = 0; pass < 2; pass++)
        {
            var a = new Assembler(32);
            Label dispatch = a.CreateLabel();
            Label done = a.CreateLabel();
            for (int t = 0; t < Targets; t++)
            {
                targets[t] = a.CreateLabel();
            }

            a.mov(ecx, 4000);
            a.mov(esi, 0x40000);
            a.Label(ref dispatch);
            a.dec(ecx);
            a.jz(done);
            a.mov(edx, ecx);
            a.and(edx, Targets - 1);
            a.jmp(__dword_ptr[(edx * 4) + (int)Table]);
            for (int t = 0; t < Targets; t++)
            {
                a.Label(ref targets[t]);
                for (int i = 0; i < 16; i++)
                {
                    a.add(__dword_ptr[esi + (t * 4)], i + 1); // 16 memory operands generated inline: a method of several KiB
                }

                a.jmp(dispatch);
            }

            a.Label(ref done);
            a.hlt();
            using var stream = new MemoryStream();
            AssemblerResult result = a.Assemble(new StreamCodeWriter(stream), ProtectedModeHarness.CodeAddress, BlockEncoderOptions.ReturnNewInstructionOffsets);
            for (int t = 0; t < Targets; t++)
            {
                addresses[t] = (uint)result.GetLabelRIP(targets[t]);
            }

            hot = (uint)result.GetLabelRIP(dispatch);
            if (pass == 1)
            {
                byte[] code = stream.ToArray();
                machine.Load(x => { });
                machine.Memory.Write(new PhysicalAddress(ProtectedModeHarness.CodeAddress), code);
                machine.Cpu.FlushDecodeCache();
            }
        }

        for (int t = 0; t < Targets; t++)
        {
            machine.Memory.WriteDoubleWord(new PhysicalAddress(Table + (uint)(t * 4)), addresses[t]);
        }

        if (attached is not null)
        {
            machine.Cpu.BlockCompiler!.BlockAttached = attached.Add;
        }

        Assert.Equal(StopReason.Halted, machine.Cpu.Run(10_000_000));
        return (machine, hot);
    }
}
