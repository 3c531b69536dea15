using Iced.Intel;
using Virt.Cpu;
using Virt.Devices;
using Virt.Machine.Boot;
using Virt.Memory;
using Xunit;
using static Iced.Intel.AssemblerRegisters;

namespace Virt.Machine.Tests.Running;

/// <summary>
/// The machine's clock in real-time mode on a host whose clock jumps erratically (an injected time provider; nothing
/// here depends on real time): guest time must still move only with the instructions the guest runs, so the PIT and the
/// TSC stay consistent within a polling loop and no PIT period is lost (the Linux TSC calibration and its clocksource
/// watchdog depend on both).
/// </summary>
public sealed class MachineRealTimeClockTests
{
    /// <summary>PIT counter 0 reload value: 1193 input clocks, about 1 ms.</summary>
    private const int Counter0Period = 1193;

    private const int TicksToCount = 50;

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void NoPitPeriodIsLostWhenTheHostClockJumps(bool haltBetweenTicks)
    {
        // IRQ 0 every 1193 PIT clocks; the handler counts in BX. The guest spins (or halts) until 50 were counted and then
        // exits. On a host that stalls for up to 80 ms at a time, guest time must reach each deadline on its own: had two
        // periods been merged into one interrupt, 50 interrupts would take more than 51 periods of guest time.
        byte[] image = GuestPrograms.WithHandlerAt100h(
            GuestPrograms.Assemble16(0x7C00, a =>
            {
                ProgramCounter0(a);
                if (haltBetweenTicks)
                {
                    GuestPrograms.HaltUntilBxReachesThenExit(a, TicksToCount);
                    return;
                }

                Label spin = a.CreateLabel();
                a.Label(ref spin);
                a.cmp(bx, TicksToCount);
                a.jb(spin);
                a.cli();
                a.mov(dx, 0x501);
                a.mov(al, bl);
                a.@out(dx, al);
                a.hlt();
            }),
            GuestPrograms.Assemble16(0x7D00, a =>
            {
                a.inc(bx);
                a.mov(al, 0x20);
                a.@out(0x20, al);
                a.iret();
            }));
        using Machine machine = new MachineBuilder()
            .WithClock(new VirtualClockOptions { Mode = VirtualClockMode.RealTime, TimeProvider = new JumpingTimeProvider(seed: 5) })
            .WithDebugExit()
            .WithFlatBinary(image, new PhysicalAddress(0x7C00), BootEntryState.RealMode(0, 0x7C00, "test"))
            .Build();

        MachineStopReason stop = machine.Run(maxInstructions: 50_000_000, timeout: TimeSpan.FromMinutes(1));

        Assert.Equal(MachineStopKind.DebugExit, stop.Kind);
        Assert.Equal((TicksToCount << 1) | 1, stop.ExitCode);
        long period = TimeOfTicks(Counter0Period);
        Assert.InRange(machine.Clock.NowNanoseconds, TicksToCount * period, (TicksToCount * period) + (period / 10));
        Assert.True(machine.Clock.ForgivenLagNanoseconds > 0, "the host should have outrun the guest: the test would not test catching up");
    }

    [Fact]
    public void APollingLoopSeesThePitAndTheTscMoveByItsInstructionsWhateverTheHostDoes()
    {
        // The loop of Linux's PIT calibration: read PIT counter 2 (mode 0, counting down from FFFFh), read the TSC, keep
        // the smallest and largest TSC delta between iterations. Linux rejects the run when the largest exceeds ten times
        // the smallest (pit_calibrate_tsc); here no host stall may show, whatever the host clock does. The
        // counter's progress over the loop must match the TSC's at 1.193182 MHz against 1 GHz.
        byte[] code = GuestPrograms.Assemble16(0x7C00, a =>
        {
            Label settle = a.CreateLabel();
            Label poll = a.CreateLabel();
            Label notMin = a.CreateLabel();
            Label notMax = a.CreateLabel();
            a.cli();
            a.xor(ax, ax);
            a.mov(ds, ax);
            a.@in(al, 0x61);
            a.and(al, 0xFD);
            a.or(al, 1); // gate counter 2 high, speaker off
            a.@out(0x61, al);
            a.mov(al, 0xB0); // counter 2, low then high byte, mode 0
            a.@out(0x43, al);
            a.mov(al, 0xFF);
            a.@out(0x42, al);
            a.@out(0x42, al);
            a.mov(cx, 200); // the count loads on the next input clock
            a.Label(ref settle);
            a.loop(settle);

            LatchCounter2(a);
            a.mov(__word_ptr[0x500], ax);
            a.rdtsc();
            a.mov(__dword_ptr[0x504], eax);
            a.mov(ebp, eax);
            a.mov(esi, uint.MaxValue);
            a.xor(edi, edi);
            a.mov(cx, 20_000); // about 240,000 instructions: more than one slice of the run loop
            a.Label(ref poll);
            a.@in(al, 0x42);
            a.@in(al, 0x42);
            a.rdtsc();
            a.mov(ebx, eax);
            a.sub(eax, ebp);
            a.mov(ebp, ebx);
            a.cmp(eax, esi);
            a.jae(notMin);
            a.mov(esi, eax);
            a.Label(ref notMin);
            a.cmp(eax, edi);
            a.jbe(notMax);
            a.mov(edi, eax);
            a.Label(ref notMax);
            a.loop(poll);

            a.rdtsc();
            a.mov(__dword_ptr[0x50C], eax);
            LatchCounter2(a);
            a.mov(__word_ptr[0x508], ax);
            a.hlt();
        });
        using Machine machine = new MachineBuilder()
            .WithClock(new VirtualClockOptions { Mode = VirtualClockMode.RealTime, TimeProvider = new JumpingTimeProvider(seed: 9) })
            .WithFlatBinary(code, new PhysicalAddress(0x7C00), BootEntryState.RealMode(0, 0x7C00, "test"))
            .Build();

        MachineStopReason stop = machine.Run(maxInstructions: 2_000_000, timeout: TimeSpan.FromMinutes(1));

        Assert.Equal(MachineStopKind.HaltedForGood, stop.Kind);
        long smallest = (long)machine.Cpu.GetRegister(GeneralRegister.Rsi) & 0xFFFF_FFFF;
        long largest = (long)machine.Cpu.GetRegister(GeneralRegister.Rdi) & 0xFFFF_FFFF;
        Assert.True(smallest > 0);
        Assert.True(largest <= 10 * smallest, $"TSC deltas from {smallest} to {largest}: Linux would reject the calibration");

        // Two ISA bus cycles (1 µs each) and 12 to 14 instructions per iteration, each instruction at the nominal rate
        // times a multiplier from 1 to 4.
        long nominal = 1000 / machine.Clock.InstructionsPerMicrosecond;
        long io = 2 * IsaBusPortDevice.AccessNanoseconds;
        Assert.InRange(smallest, io + (12 * nominal) - 1, io + (12 * nominal * (1 + VirtualClock.SlewCatchUpFactor)) + 1);
        Assert.InRange(largest, smallest, io + (14 * nominal * (1 + VirtualClock.SlewCatchUpFactor)) + 1);

        long countBefore = machine.Memory.ReadWord(new PhysicalAddress(0x500));
        long tscBefore = machine.Memory.ReadDoubleWord(new PhysicalAddress(0x504));
        long countAfter = machine.Memory.ReadWord(new PhysicalAddress(0x508));
        long tscAfter = machine.Memory.ReadDoubleWord(new PhysicalAddress(0x50C));
        // The first count is latched three ISA bus cycles (its two reads, the second latch command) further from the
        // second than the two TSC reads are from each other.
        long expectedTicks = (tscAfter - tscBefore + (3 * IsaBusPortDevice.AccessNanoseconds)) * Pit8254.InputClockHertz / 1_000_000_000;
        Assert.InRange(countBefore - countAfter, expectedTicks - 2, expectedTicks + 2);
        Assert.True(expectedTicks > 1000, "the loop should run for more than a millisecond of guest time");
    }

    [Theory]
    [InlineData(VirtualClockMode.Deterministic)]
    [InlineData(VirtualClockMode.RealTime)]
    public void ACountWrittenToPitCounter2HasLoadedAfterOneReadBackAsLinuxExpects(VirtualClockMode mode)
    {
        // quick_pit_calibrate: gate counter 2, mode 0, write FFFFh, "read back the 16-bit counter once" to let the count
        // load on the next input clock (838 ns), then expect MSB FFh. Two ISA bus cycles of 1 µs cover that clock.
        byte[] code = GuestPrograms.Assemble16(0x7C00, a =>
        {
            a.cli();
            a.@in(al, 0x61);
            a.and(al, 0xFD);
            a.or(al, 1);
            a.@out(0x61, al);
            a.mov(al, 0xB0);
            a.@out(0x43, al);
            a.mov(al, 0xFF);
            a.@out(0x42, al);
            a.@out(0x42, al);
            a.@in(al, 0x42); // the read-back: LSB, MSB
            a.@in(al, 0x42);
            a.@in(al, 0x42); // then LSB, MSB again: the MSB must be FFh
            a.@in(al, 0x42);
            a.mov(bl, al);
            a.hlt();
        });
        using Machine machine = new MachineBuilder()
            .WithClock(new VirtualClockOptions { Mode = mode, TimeProvider = new JumpingTimeProvider(seed: 3) })
            .WithFlatBinary(code, new PhysicalAddress(0x7C00), BootEntryState.RealMode(0, 0x7C00, "test"))
            .Build();

        Assert.Equal(MachineStopKind.HaltedForGood, machine.Run(maxInstructions: 1_000).Kind);
        Assert.Equal(0xFFu, machine.Cpu.GetRegister(GeneralRegister.Rbx) & 0xFF);
    }

    /// <summary>Zeroes DS, SS:SP = 0:7000, BX = 0, the PICs with only IRQ 0 unmasked, IVT 8 at 0:7D00, PIT counter 0 mode 2, STI.</summary>
    private static void ProgramCounter0(Assembler a)
    {
        a.cli();
        a.xor(ax, ax);
        a.mov(ds, ax);
        a.mov(ss, ax);
        a.mov(sp, 0x7000);
        a.xor(bx, bx);
        GuestPrograms.InitializePics(a, masterMask: 0xFE, slaveMask: 0xFF);
        a.mov(__word_ptr[0x20], 0x7D00);
        a.mov(__word_ptr[0x22], 0);
        a.mov(al, 0x34); // counter 0, low then high byte, mode 2
        a.@out(0x43, al);
        a.mov(ax, Counter0Period);
        a.@out(0x40, al);
        a.mov(al, ah);
        a.@out(0x40, al);
        a.sti();
    }

    /// <summary>Latches PIT counter 2 and reads it into AX.</summary>
    private static void LatchCounter2(Assembler a)
    {
        a.mov(al, 0x80);
        a.@out(0x43, al);
        a.@in(al, 0x42);
        a.mov(ah, al);
        a.@in(al, 0x42);
        a.xchg(al, ah);
    }

    /// <summary>Guest nanoseconds of <paramref name="ticks"/> PIT input clocks, rounded up.</summary>
    private static long TimeOfTicks(long ticks) => ((ticks * 1_000_000_000) + Pit8254.InputClockHertz - 1) / Pit8254.InputClockHertz;

    /// <summary>
    /// A host clock that moves on every time it is read: usually by up to 2 ms, sometimes by a stall of 30 to 80 ms
    /// (a loaded, preempted host), from a fixed seed.
    /// </summary>
    private sealed class JumpingTimeProvider(int seed) : TimeProvider
    {
        private readonly Random _random = new(seed);
        private long _ticks;

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public override long GetTimestamp()
        {
            long step = _random.Next(20) == 0
                ? TimeSpan.FromMilliseconds(30 + _random.Next(50)).Ticks
                : _random.Next((int)TimeSpan.FromMilliseconds(2).Ticks);
            return _ticks += step;
        }
    }
}
