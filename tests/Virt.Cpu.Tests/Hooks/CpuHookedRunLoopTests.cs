using Iced.Intel;
using Xunit;
using static Iced.Intel.AssemblerRegisters;

namespace Virt.Cpu.Tests.Hooks;

/// <summary>
/// Hooks/Cpu.HookedRunLoop.cs: a block hook set or removed in the middle of a run (here from an exception hook, which does
/// not itself put the CPU in the hooked loop) takes effect at the next block entry of that same run, on both tiers, and
/// the run otherwise goes on exactly as it would without hooks.
/// </summary>
public sealed class CpuHookedRunLoopTests
{
    private const int Passes = 3;
    private const int LoopCount = 20;

    public static TheoryData<ExecutionTier> Tiers => new() { ExecutionTier.Interpreter, ExecutionTier.Compiled };

    [Theory]
    [MemberData(nameof(Tiers))]
    public void BlockHookSetAndRemovedMidRunSeesExactlyTheBlocksBetween(ExecutionTier tier)
    {
        var m = new CpuHarness(new CpuOptions { ExecutionTier = tier, CompileThreshold = 0 });
        var entries = new List<ulong>();
        int int3Seen = 0;
        m.Cpu.ExceptionHook = (ref CpuExceptionEvent e) =>
        {
            Assert.Equal(3, e.Vector);
            int3Seen++;

            // The first INT3 sets the block hook, the second (and third) remove it; the INT3 itself is dropped.
            m.Cpu.BlockHook = int3Seen == 1 ? (linear, _, _) => entries.Add(linear) : null;
            e.Suppress();
        };

        StopReason stop = m.RunWithLabels((a, _) => Program(a), labelCount: 3);

        Assert.Equal(StopReason.Halted, stop);          // one Run call went through all three passes
        Assert.Equal(Passes, int3Seen);
        Assert.Equal((ulong)Passes, m.Reg(GeneralRegister.Rdi));
        Assert.Equal((ulong)(Passes * LoopCount), m.Reg(GeneralRegister.Rax));

        // The second pass only, block by block: after the first INT3 (INC EDI ... JNE), the pass's first block (MOV ECX ...),
        // and the loop body's other 19 entries, the last of which falls through the JNZ (a not-taken branch does not end a
        // block) to the second INT3, which removes the hook: nothing of the third pass is seen.
        ulong[] labels = Labels();
        ulong again = labels[0];
        ulong loop = labels[1];
        ulong afterInt3 = labels[2];
        Assert.Equal([afterInt3, again, .. Enumerable.Repeat(loop, LoopCount - 1)], entries);
    }

    [Theory]
    [MemberData(nameof(Tiers))]
    public void BlockHookThatRemovesItselfLeavesTheRunAsWithoutHooks(ExecutionTier tier)
    {
        var plain = new CpuHarness(new CpuOptions { ExecutionTier = tier, CompileThreshold = 0 });
        plain.Cpu.ExceptionHook = (ref CpuExceptionEvent e) => e.Suppress();
        Assert.Equal(StopReason.Halted, plain.RunWithLabels((a, _) => Program(a), labelCount: 3));

        var hooked = new CpuHarness(new CpuOptions { ExecutionTier = tier, CompileThreshold = 0 });
        hooked.Cpu.ExceptionHook = (ref CpuExceptionEvent e) => e.Suppress();
        int calls = 0;
        hooked.Cpu.BlockHook = (_, _, _) =>
        {
            // Removed from inside itself after five blocks: the sixth block entry no longer calls it.
            if (++calls == 5)
            {
                hooked.Cpu.BlockHook = null;
            }
        };

        Assert.Equal(StopReason.Halted, hooked.RunWithLabels((a, _) => Program(a), labelCount: 3));

        Assert.Equal(5, calls);
        Assert.Equal(plain.Cpu.RetiredInstructions, hooked.Cpu.RetiredInstructions);
        Assert.Equal(plain.Reg(GeneralRegister.Rax), hooked.Reg(GeneralRegister.Rax));
        Assert.Equal(plain.Reg(GeneralRegister.Rdi), hooked.Reg(GeneralRegister.Rdi));
        Assert.Equal(plain.Cpu.Eip, hooked.Cpu.Eip);
    }

    [Theory]
    [MemberData(nameof(Tiers))]
    public void BudgetLeftWhenTheHookChangesCarriesOverToTheOtherLoop(ExecutionTier tier)
    {
        var m = new CpuHarness(new CpuOptions { ExecutionTier = tier, CompileThreshold = 0 });
        m.Cpu.ExceptionHook = (ref CpuExceptionEvent e) =>
        {
            m.Cpu.BlockHook = m.Cpu.BlockHook is null ? (_, _, _) => { } : null;
            e.Suppress();
        };

        m.RunWithLabels((a, _) => Program(a), labelCount: 3, maxInstructions: 1);
        long budget = (2 * ((LoopCount * 3) + 5)) + 10;   // into the third pass, past both hook changes
        StopReason stop = m.Cpu.Run(budget);

        Assert.Equal(StopReason.BudgetExhausted, stop);
        Assert.Equal(1 + budget, m.Cpu.RetiredInstructions);
    }

    /// <summary>The addresses of the labels of <see cref="Program"/>: again, loop, after the INT3.</summary>
    private static ulong[] Labels()
    {
        var a = new Assembler(16);
        Label[] labels = Program(a);
        using var stream = new MemoryStream();
        AssemblerResult result = a.Assemble(new StreamCodeWriter(stream), CpuHarness.CodeOffset, BlockEncoderOptions.ReturnNewInstructionOffsets);
        return labels.Select(l => result.GetLabelRIP(l)).ToArray();
    }

    /// <summary>
    /// Three passes over the same loop (compiled in the first pass on the compiled tier), each ending with INT3; the
    /// tests' exception hooks suppress the INT3 and change the hooks there.
    /// </summary>
    private static Label[] Program(Assembler a)
    {
        Label again = a.CreateLabel();
        Label loop = a.CreateLabel();
        Label afterInt3 = a.CreateLabel();
        a.xor(edi, edi);
        a.xor(eax, eax);
        a.Label(ref again);
        a.mov(ecx, LoopCount);
        a.Label(ref loop);
        a.inc(eax);
        a.dec(ecx);
        a.jnz(loop);
        a.int3();
        a.Label(ref afterInt3);
        a.inc(edi);
        a.cmp(edi, Passes);
        a.jne(again);
        a.hlt();
        return [again, loop, afterInt3];
    }
}
