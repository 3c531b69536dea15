using Iced.Intel;
using Virt.Cpu.Tests.ProtectedMode;
using Virt.Memory;
using Xunit;
using static Iced.Intel.AssemblerRegisters;

namespace Virt.Cpu.Tests.Execution.Compiled;

/// <summary>
/// Determinism across tiers: a guest loop interrupted by a timer whose interrupts arrive at budget boundaries (as a
/// deterministic machine's virtual time delivers them, mid-block included) ends in byte-identical state on both tiers,
/// with every interrupt taken at the same instruction.
/// </summary>
public sealed class CompiledTierDeterminismTests
{
    private const int TimerVector = 0x20;
    private const uint DataBase = 0x20000;
    private const uint TickCounter = DataBase + 0x40;

    [Theory]
    [InlineData(0)]
    [InlineData(3)]
    [InlineData(CpuOptions.DefaultCompileThreshold)]
    public void An_interrupted_loop_ends_in_the_same_state_on_both_tiers(int threshold)
    {
        (ProtectedModeHarness interpreter, long interpreterTicks) = Run(TierComparison.Interpreter);
        (ProtectedModeHarness compiled, long compiledTicks) = Run(TierComparison.Compiled(threshold));
        TierComparison.AssertSameState(interpreter.Cpu, interpreter.Memory, compiled.Cpu, compiled.Memory, CpuHarness.DefaultRamBytes, "end");
        Assert.Equal(interpreterTicks, compiledTicks);
        Assert.True(interpreterTicks > 100, $"only {interpreterTicks} timer interrupts were taken");
        Assert.Equal((uint)interpreterTicks, interpreter.Dword(TickCounter));
        Assert.True(compiled.Cpu.CompiledTierStatistics.BlocksCompiled > 0, "nothing was compiled");
    }

    private static (ProtectedModeHarness Machine, long Ticks) Run(CpuOptions options)
    {
        var machine = new ProtectedModeHarness(options: options);
        machine.Load(a =>
        {
            Label top = a.CreateLabel();
            a.mov(ebp, DataBase);
            a.xor(eax, eax);
            a.sti();
            a.Label(ref top);
            a.add(eax, 3);
            a.xor(ebx, eax);
            a.lea(edx, __[ebx + eax * 2 + 1]);
            a.mov(__dword_ptr[ebp + 8], edx);
            a.add(ecx, __dword_ptr[ebp + 8]);
            a.test(ecx, 0x10);
            a.setne(dl);
            a.cmp(eax, 0x30000);
            a.jb(top);
            a.hlt();
        });
        machine.InstallGate(TimerVector);
        machine.Memory.Write(new PhysicalAddress(ProtectedModeHarness.HandlerAddress(TimerVector)), ProtectedModeHarness.Assemble(32, a =>
        {
            a.inc(__dword_ptr[TickCounter]);
            a.iretd();
        }, ProtectedModeHarness.HandlerAddress(TimerVector)));

        var timer = new Timer();
        machine.Cpu.InterruptController = timer;

        // Budgets of assorted sizes, most not multiples of the loop's nine instructions: the timer fires at each boundary.
        int[] budgets = [1, 7, 500, 13, 64, 9, 1000, 2, 333];
        StopReason stop = StopReason.BudgetExhausted;
        for (int i = 0; stop == StopReason.BudgetExhausted && i < 100_000; i++)
        {
            stop = machine.Cpu.Run(budgets[i % budgets.Length]);
            timer.Pending = true;
        }

        Assert.Equal(StopReason.Halted, stop);
        return (machine, timer.Acknowledged);
    }

    private sealed class Timer : IInterruptController
    {
        public bool Pending { get; set; }

        public long Acknowledged { get; private set; }

        public bool IsInterruptPending => Pending;

        public byte Acknowledge()
        {
            Pending = false;
            Acknowledged++;
            return TimerVector;
        }
    }
}
