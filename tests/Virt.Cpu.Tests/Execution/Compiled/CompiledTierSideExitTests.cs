using Iced.Intel;
using Virt.Cpu.Tests.ProtectedMode;
using Xunit;
using static Iced.Intel.AssemblerRegisters;

namespace Virt.Cpu.Tests.Execution.Compiled;

/// <summary>
/// The compiled part of a block and the side exits to the interpreter (src/Virt.Cpu/Execution/Compiled/BlockEmitter.SideExit.cs):
/// a block compiled only as far as its entries reached, then entered further, and a block whose tail is interpreter calls,
/// each against the interpreter's final state.
/// </summary>
public sealed class CompiledTierSideExitTests
{
    /// <summary>The loop's start after one MOV r32, imm32 (5 bytes).</summary>
    private const uint LoopStart = ProtectedModeHarness.CodeAddress + 5;

    /// <summary>The loop's start after two MOV r32, imm32.</summary>
    private const uint TailLoopStart = ProtectedModeHarness.CodeAddress + 10;

    /// <summary>
    /// A loop whose block is left at its third instruction for the first 300 entries, so it is compiled only that far; the
    /// later entries run past it, through the side exit into the interpreter, with flags and registers as the
    /// interpreter leaves them.
    /// </summary>
    [Fact]
    public void A_block_compiled_as_far_as_its_entries_reached_runs_the_rest_interpreted()
    {
        var attached = new List<ulong>();
        ProtectedModeHarness compiled = RunLateLoop(TierComparison.Compiled(10), attached);
        ProtectedModeHarness reference = RunLateLoop(TierComparison.Interpreter, null);
        TierComparison.AssertSameState(reference.Cpu, reference.Memory, compiled.Cpu, compiled.Memory, CpuHarness.DefaultRamBytes, "end");

        CompiledTierStatistics statistics = compiled.Cpu.CompiledTierStatistics;
        Assert.Contains(LoopStart, attached);
        Assert.True(statistics.SideExits >= 100, $"only {statistics.SideExits} side exits for 100 entries past the compiled part");
        Assert.Equal(reference.Cpu.RetiredInstructions, compiled.Cpu.RetiredInstructions);
    }

    /// <summary>
    /// A block of generated instructions followed by a long run of interpreter calls (ADC and SBB with memory) compiles the
    /// generated part only and runs the calls through the side exit.
    /// </summary>
    [Fact]
    public void The_interpreter_calls_that_end_a_block_run_through_the_side_exit()
    {
        var attached = new List<ulong>();
        ProtectedModeHarness compiled = RunTailCallLoop(TierComparison.Compiled(2), attached);
        ProtectedModeHarness reference = RunTailCallLoop(TierComparison.Interpreter, null);
        TierComparison.AssertSameState(reference.Cpu, reference.Memory, compiled.Cpu, compiled.Memory, CpuHarness.DefaultRamBytes, "end");

        Assert.Contains(TailLoopStart, attached);
        Assert.True(compiled.Cpu.CompiledTierStatistics.SideExits >= 900, $"only {compiled.Cpu.CompiledTierStatistics.SideExits} side exits");
    }

    /// <summary>A block of interpreter calls only gains nothing compiled: it stays interpreted, and the result is the same.</summary>
    [Fact]
    public void A_block_of_interpreter_calls_only_is_not_compiled()
    {
        var attached = new List<ulong>();
        ProtectedModeHarness compiled = RunCallsOnlyLoop(TierComparison.Compiled(2) with { CompileRateLimit = 0 }, attached);
        ProtectedModeHarness reference = RunCallsOnlyLoop(TierComparison.Interpreter, null);
        TierComparison.AssertSameState(reference.Cpu, reference.Memory, compiled.Cpu, compiled.Memory, CpuHarness.DefaultRamBytes, "end");
        Assert.DoesNotContain(TailLoopStart, attached);
        Assert.True(compiled.Cpu.CompiledTierStatistics.CompiledBlockEntries == 0, "a compiled block was entered");
    }

    private static ProtectedModeHarness RunLateLoop(CpuOptions options, List<ulong>? attached)
    {
        var machine = new ProtectedModeHarness(options: options);
        machine.Load(a =>
        {
            Label top = a.CreateLabel();
            a.mov(ecx, 0);
            a.Label(ref top);
            a.inc(ecx);
            a.cmp(ecx, 300);
            a.jb(top);
            for (int i = 0; i < 8; i++)
            {
                a.add(eax, ecx);
                a.xor(edx, eax);
            }

            a.sub(ebx, edx);
            a.cmp(ecx, 400);
            a.jb(top);
            a.hlt();
        });
        Attach(machine, attached);
        Assert.Equal(StopReason.Halted, machine.Cpu.Run(1_000_000));
        return machine;
    }

    private static ProtectedModeHarness RunTailCallLoop(CpuOptions options, List<ulong>? attached)
    {
        var machine = new ProtectedModeHarness(options: options);
        machine.Load(a =>
        {
            Label top = a.CreateLabel();
            a.mov(ecx, 1000);
            a.mov(esi, 0x40000);
            a.Label(ref top);
            a.add(eax, ecx);
            a.mov(__dword_ptr[esi], eax);
            a.sub(edx, 3);
            for (int i = 0; i < 8; i++)
            {
                a.adc(__dword_ptr[esi + 4], i + 1); // not generated inline: interpreter calls
                a.sbb(__dword_ptr[esi + 8], i);
            }

            a.dec(ecx);
            a.jnz(top);
            a.hlt();
        });
        Attach(machine, attached);
        Assert.Equal(StopReason.Halted, machine.Cpu.Run(1_000_000));
        return machine;
    }

    private static ProtectedModeHarness RunCallsOnlyLoop(CpuOptions options, List<ulong>? attached)
    {
        var machine = new ProtectedModeHarness(options: options);
        machine.Load(a =>
        {
            Label top = a.CreateLabel();
            a.mov(esi, 0x40000);
            a.mov(ecx, 500);
            a.Label(ref top);
            for (int i = 0; i < 12; i++)
            {
                a.adc(__dword_ptr[esi + 4], i + 1);
            }

            a.loop(top);
            a.hlt();
        });
        Attach(machine, attached);
        Assert.Equal(StopReason.Halted, machine.Cpu.Run(1_000_000));
        return machine;
    }

    private static void Attach(ProtectedModeHarness machine, List<ulong>? attached)
    {
        if (attached is not null && machine.Cpu.BlockCompiler is { } compiler)
        {
            compiler.BlockAttached = attached.Add;
        }
    }
}
