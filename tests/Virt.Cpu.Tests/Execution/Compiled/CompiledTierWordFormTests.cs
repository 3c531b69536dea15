using Iced.Intel;
using Xunit;
using static Iced.Intel.AssemblerRegisters;

namespace Virt.Cpu.Tests.Execution.Compiled;

/// <summary>
/// The 16-bit operand- and address-size forms the compiled tier generates inline (src/Virt.Cpu/Execution/Compiled/
/// BlockEmitter.Word.cs), in real-mode code: the registers' upper bits kept, the flags of 16-bit results, 16-bit LEA
/// wrapping, and the loop's branches on them, against the interpreter.
/// </summary>
public sealed class CompiledTierWordFormTests
{
    [Theory]
    [InlineData(0)]
    [InlineData(5)]
    public void A_real_mode_loop_of_word_forms_ends_in_the_interpreters_state(int threshold)
    {
        var interpreter = new CpuHarness(TierComparison.Interpreter);
        var compiled = new CpuHarness(TierComparison.Compiled(threshold));
        foreach (CpuHarness machine in new[] { interpreter, compiled })
        {
            machine.Load(WordLoop);

            // Upper halves that a 16-bit write must keep.
            machine.Cpu.SetRegister(GeneralRegister.Rax, 0xDEAD0000);
            machine.Cpu.SetRegister(GeneralRegister.Rbx, 0xBEEF0000);
            machine.Cpu.SetRegister(GeneralRegister.Rsi, 0x5A5AFFF0);
            long[] budgets = [3, 17, 1000, 5, 100_000];
            StopReason stop = StopReason.BudgetExhausted;
            for (int i = 0; stop == StopReason.BudgetExhausted; i++)
            {
                stop = machine.Cpu.Run(budgets[i % budgets.Length]);
            }

            Assert.Equal(StopReason.Halted, stop);
        }

        TierComparison.AssertSameState(interpreter.Cpu, interpreter.Memory, compiled.Cpu, compiled.Memory, CpuHarness.DefaultRamBytes, "end");
        Assert.Equal(0xDEADUL, compiled.Cpu.GetRegister(GeneralRegister.Rax) >> 16);
        Assert.True(compiled.Cpu.CompiledTierStatistics.BlocksCompiled > 0, "nothing was compiled");
    }

    private static void WordLoop(Assembler a)
    {
        Label top = a.CreateLabel();
        Label skip = a.CreateLabel();
        a.mov(ecx, 700);
        a.mov(dx, 7);
        a.Label(ref top);
        a.add(ax, bx);
        a.xor(dx, ax);
        a.sub(bx, 3);
        a.inc(si);
        a.and(di, 0x7FFF);
        a.lea(bp, __[bx + si + 0x7FF0]);
        a.lea(edi, __[bp + di + 3]);
        a.mov(sp, bx);
        a.or(sp, 0x100);
        a.test(si, 1);
        a.jz(skip);
        a.cmp(ax, dx);
        a.jl(skip);
        a.dec(bx);
        a.Label(ref skip);
        a.cmp(si, 0x10);
        a.setae(dl);
        a.dec(ecx);
        a.jnz(top);
        a.mov(sp, 0x8000);
        a.hlt();
    }
}
