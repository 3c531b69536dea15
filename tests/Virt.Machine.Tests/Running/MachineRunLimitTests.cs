using Virt.Cpu;
using Virt.Devices;
using Virt.Machine.Boot;
using Virt.Memory;
using Xunit;
using static Iced.Intel.AssemblerRegisters;

namespace Virt.Machine.Tests.Running;

/// <summary>
/// A guest can never keep <see cref="Machine.Run"/> from returning within its limits: the reproducers of issue 11
/// (HLT with interrupts enabled and no timer, a masked PIT with an STI;HLT loop, a clock restored near overflow),
/// each in deterministic and real-time mode where it applies. Real-time limits are kept small; nothing here asserts
/// on host timing beyond "it returned".
/// </summary>
public sealed class MachineRunLimitTests
{
    private static readonly TimeSpan s_shortTimeout = TimeSpan.FromMilliseconds(50);

    [Fact]
    public void StiHltWithNoTimerStopsWithNoWakeSourceInDeterministicMode()
    {
        // FB F4: STI; HLT, and nothing is programmed: no timer is scheduled and nothing is pending.
        using Machine machine = BuildMachine([0xFB, 0xF4], VirtualClockMode.Deterministic);
        MachineStopReason stop = machine.Run();
        Assert.Equal(MachineStopKind.HaltedWithNoWakeSource, stop.Kind);
        Assert.Equal(0, machine.Clock.ScheduledTimerCount);

        // Asked again, it says the same at once rather than waiting.
        Assert.Equal(MachineStopKind.HaltedWithNoWakeSource, machine.Run(maxInstructions: 1000).Kind);
    }

    [Fact]
    public void StiHltWithNoTimerCountsAgainstTheTimeoutAndBudgetInRealTimeMode()
    {
        using Machine machine = BuildMachine([0xFB, 0xF4], VirtualClockMode.RealTime);
        Assert.Equal(MachineStopKind.Timeout, machine.Run(timeout: s_shortTimeout).Kind);

        // 100,000 instruction times at the default rate (100 per µs) are 1 ms of halted guest time.
        Assert.Equal(MachineStopKind.BudgetExhausted, machine.Run(maxInstructions: 100_000).Kind);
        Assert.Equal(MachineStopKind.GuestTimeLimit, machine.Run(maxGuestTime: TimeSpan.FromMilliseconds(2)).Kind);
    }

    [Fact]
    public void MaskedPitWithStiHltLoopExhaustsTheBudgetInDeterministicMode()
    {
        using Machine machine = BuildMachine(MaskedPitHaltLoop(), VirtualClockMode.Deterministic);
        long start = machine.Clock.NowNanoseconds;
        const long budget = 1_000_000;
        MachineStopReason stop = machine.Run(maxInstructions: budget);
        Assert.Equal(MachineStopKind.BudgetExhausted, stop.Kind);
        Assert.Contains("halted", stop.Detail, StringComparison.Ordinal);

        // The rule: retired instructions plus halted time at the clock's rate fill the budget, so guest time moved on by
        // at most the budget's worth (1,000,000 instruction times at 100 per µs: 10 ms) plus the three ISA bus cycles
        // that program the PIT - and, the PIT ticking every 10 ms, well past its first tick.
        long budgetNanoseconds = budget * 1000 / machine.Clock.InstructionsPerMicrosecond;
        long elapsed = machine.Clock.NowNanoseconds - start;
        Assert.InRange(elapsed, budgetNanoseconds / 2, budgetNanoseconds + (3 * IsaBusPortDevice.AccessNanoseconds) + 1);
        Assert.True(machine.Cpu.IsHalted);
        Assert.True(machine.Cpu.RetiredInstructions < 1000);
    }

    [Fact]
    public void MaskedPitWithStiHltLoopStopsAtTheGuestTimeLimitInDeterministicMode()
    {
        using Machine machine = BuildMachine(MaskedPitHaltLoop(), VirtualClockMode.Deterministic);
        long start = machine.Clock.NowNanoseconds;
        MachineStopReason stop = machine.Run(maxGuestTime: TimeSpan.FromMilliseconds(35));
        Assert.Equal(MachineStopKind.GuestTimeLimit, stop.Kind);

        // Deterministic: guest time lands exactly on the limit (the halted CPU skips there, it does not overshoot).
        Assert.Equal(start + 35_000_000, machine.Clock.NowNanoseconds);
    }

    [Fact]
    public void MaskedPitWithStiHltLoopReturnsWithinEachLimitInRealTimeMode()
    {
        using Machine machine = BuildMachine(MaskedPitHaltLoop(), VirtualClockMode.RealTime);
        Assert.Equal(MachineStopKind.Timeout, machine.Run(timeout: s_shortTimeout).Kind);
        Assert.Equal(MachineStopKind.BudgetExhausted, machine.Run(maxInstructions: 200_000).Kind);
        Assert.Equal(MachineStopKind.GuestTimeLimit, machine.Run(maxGuestTime: TimeSpan.FromMilliseconds(3)).Kind);
    }

    [Theory]
    [InlineData(VirtualClockMode.Deterministic)]
    [InlineData(VirtualClockMode.RealTime)]
    public void ClockRestoredAtLongMaxValueIsRefusedAndTheMachineRunsOn(VirtualClockMode mode)
    {
        using Machine machine = BuildMachine(MaskedPitHaltLoop(), mode);
        VirtualClockState before = machine.Clock.SaveState();
        var e = Assert.Throws<ArgumentException>(() => machine.Clock.RestoreState(new VirtualClockState(VirtualClockState.CurrentVersion, long.MaxValue, 0)));
        Assert.Contains("NowNanoseconds", e.Message, StringComparison.Ordinal);
        Assert.Equal(before, machine.Clock.SaveState());
        Assert.Equal(MachineStopKind.BudgetExhausted, machine.Run(maxInstructions: 1_000_000).Kind);
        Assert.Throws<ArgumentException>(() => machine.RestoreState(machine.SaveState() with { Clock = new VirtualClockState(VirtualClockState.CurrentVersion, long.MaxValue - 1, 0) }));
        Assert.Equal(MachineStopKind.BudgetExhausted, machine.Run(maxInstructions: 1_000_000).Kind);
    }

    [Theory]
    [InlineData(VirtualClockMode.Deterministic)]
    [InlineData(VirtualClockMode.RealTime)]
    public void ClockRestoredAtItsLatestTimeStillReturns(VirtualClockMode mode)
    {
        // Guest time 1 ms before the end: the PIT's deadlines soon lie past VirtualClock.MaxNanoseconds, where time
        // stops, so no timer can wake the CPU any more.
        using Machine machine = BuildMachine(MaskedPitHaltLoop(), mode);
        machine.Clock.RestoreState(new VirtualClockState(VirtualClockState.CurrentVersion, VirtualClock.MaxNanoseconds - 1_000_000, 0));
        MachineStopReason stop = machine.Run(maxInstructions: 10_000_000, timeout: s_shortTimeout);
        MachineStopKind expected = mode == VirtualClockMode.Deterministic ? MachineStopKind.HaltedWithNoWakeSource : MachineStopKind.Timeout;
        if (mode == VirtualClockMode.RealTime && stop.Kind == MachineStopKind.BudgetExhausted)
        {
            expected = MachineStopKind.BudgetExhausted; // a slow host may use the budget's 100 ms of halted time first
        }

        Assert.Equal(expected, stop.Kind);
        Assert.True(machine.Clock.NowNanoseconds <= VirtualClock.MaxNanoseconds);
    }

    [Fact]
    public void StepOfAHaltedCpuChargesOneInstructionTime()
    {
        using Machine machine = BuildMachine(MaskedPitHaltLoop(), VirtualClockMode.Deterministic);
        machine.Run(maxInstructions: 100_000);
        Assert.True(machine.Cpu.IsHalted);
        long before = machine.Clock.NowNanoseconds;
        Assert.Equal(MachineStopKind.BudgetExhausted, machine.Step().Kind);
        Assert.InRange(machine.Clock.NowNanoseconds - before, 1, 1000 / machine.Clock.InstructionsPerMicrosecond);
    }

    [Theory]
    [InlineData(VirtualClockMode.Deterministic)]
    [InlineData(VirtualClockMode.RealTime)]
    public void StepThatExecutesHltReturns(VirtualClockMode mode)
    {
        // The HLT uses the whole budget of one: the halted wait must not be charged beyond it.
        using Machine machine = BuildMachine(MaskedPitHaltLoop(), mode);
        while (!machine.Cpu.IsHalted)
        {
            Assert.Equal(MachineStopKind.BudgetExhausted, machine.Step().Kind);
        }

        Assert.Equal(MachineStopKind.BudgetExhausted, machine.Step().Kind);
    }

    [Fact]
    public void NonPositiveGuestTimeLimitIsRefused()
    {
        using Machine machine = BuildMachine([0xFB, 0xF4], VirtualClockMode.Deterministic);
        Assert.Throws<ArgumentOutOfRangeException>(() => machine.Run(maxGuestTime: TimeSpan.Zero));
    }

    [Fact]
    public void RestoringAnEarlierCpuStateLeavesTheMachineRunnable()
    {
        // Issue 11, reproducer 2: the clock's catch-up subtracted the CPU's restored (smaller) count from its mark.
        using Machine machine = BuildMachine(EndlessLoop(), VirtualClockMode.Deterministic);
        machine.Run(maxInstructions: 1000);
        CpuState cpu = machine.Cpu.SaveState();
        VirtualClockState clock = machine.Clock.SaveState();
        machine.Run(maxInstructions: 5000);

        machine.Cpu.RestoreState(cpu);
        long timeBefore = machine.Clock.NowNanoseconds;
        Assert.Equal(MachineStopKind.BudgetExhausted, machine.Run(maxInstructions: 1000).Kind);
        Assert.Equal(2000, machine.Cpu.RetiredInstructions);
        Assert.Equal(timeBefore + (1000 * 1000 / machine.Clock.InstructionsPerMicrosecond), machine.Clock.NowNanoseconds);

        // With the clock restored as well, the run replays the same guest time.
        machine.Cpu.RestoreState(cpu);
        machine.Clock.RestoreState(clock);
        Assert.Equal(MachineStopKind.BudgetExhausted, machine.Run(maxInstructions: 1000).Kind);
        Assert.Equal(clock.NowNanoseconds + (1000 * 1000 / machine.Clock.InstructionsPerMicrosecond), machine.Clock.NowNanoseconds);
    }

    [Fact]
    public void ResettingTheCpuDirectlyLeavesTheMachineRunnable()
    {
        using Machine machine = BuildMachine(EndlessLoop(), VirtualClockMode.Deterministic);
        machine.Run(maxInstructions: 5000);
        machine.Cpu.Reset(); // the count goes back to zero behind the machine's back
        MachineStopReason stop = machine.Run(maxInstructions: 100);
        Assert.Equal(MachineStopKind.BudgetExhausted, stop.Kind);
    }

    /// <summary>
    /// Programs PIT counter 0 for 100 Hz, masks every IRQ at the PIC, then loops on STI; HLT: the PIT keeps scheduling
    /// deadlines, the CPU never wakes.
    /// </summary>
    internal static byte[] MaskedPitHaltLoop() => GuestPrograms.Assemble16(0x7C00, a =>
    {
        var top = a.CreateLabel();
        a.cli();
        GuestPrograms.InitializePics(a, masterMask: 0xFF, slaveMask: 0xFF);
        a.mov(al, 0x34); // counter 0, low then high byte, mode 2
        a.@out(0x43, al);
        a.mov(ax, 11932); // 1.193182 MHz / 11932 = 100 Hz
        a.@out(0x40, al);
        a.mov(al, ah);
        a.@out(0x40, al);
        a.Label(ref top);
        a.sti();
        a.hlt();
        a.jmp(top);
    });

    internal static byte[] EndlessLoop() => GuestPrograms.Assemble16(0x7C00, a =>
    {
        var top = a.CreateLabel();
        a.Label(ref top);
        a.jmp(top);
    });

    internal static Machine BuildMachine(byte[] code, VirtualClockMode mode) => new MachineBuilder()
        .WithMemorySize(2UL << 20)
        .WithClock(new VirtualClockOptions { Mode = mode })
        .WithFlatBinary(code, new PhysicalAddress(0x7C00), BootEntryState.RealMode(0, 0x7C00, "test"))
        .Build();
}
