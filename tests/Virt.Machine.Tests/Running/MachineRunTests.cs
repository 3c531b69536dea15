using Virt.Cpu;
using Virt.Devices;
using Virt.Machine.Boot;
using Virt.Memory;
using Xunit;

namespace Virt.Machine.Tests.Running;

public sealed class MachineRunTests
{
    [Fact]
    public void FlatBinaryPrintsToDebugConsoleAndExitsWithQemuCode()
    {
        var console = new BufferCharacterSink();
        using Machine machine = new MachineBuilder()
            .WithMemorySize(16UL << 20)
            .WithDebugConsole(console)
            .WithDebugExit()
            .WithFlatBinary(GuestPrograms.PrintAndExit("hello", 0x21), new PhysicalAddress(0x7C00), BootEntryState.RealMode(0, 0x7C00, "test"))
            .Build();
        MachineStopReason stop = machine.Run(maxInstructions: 10_000);
        Assert.Equal(MachineStopKind.DebugExit, stop.Kind);
        Assert.Equal((0x21 << 1) | 1, stop.ExitCode);
        Assert.Equal((0x21 << 1) | 1, stop.ProcessExitStatus);
        Assert.Equal("hello", console.GetText());
    }

    [Fact]
    public void FirmwareRunsFromTheResetVector()
    {
        var console = new BufferCharacterSink();
        using Machine machine = new MachineBuilder()
            .WithMemorySize(16UL << 20)
            .WithDebugConsole(console)
            .WithDebugExit()
            .WithFirmware(GuestPrograms.FirmwareThatPrints("rom ok", 3), "test.rom")
            .Build();
        MachineStopReason stop = machine.Run(maxInstructions: 10_000);
        Assert.Equal("rom ok", console.GetText());
        Assert.Equal(MachineStopKind.DebugExit, stop.Kind);
        Assert.Equal(7, stop.ExitCode);
    }

    [Fact]
    public void HaltWithInterruptsDisabledStopsForGood()
    {
        byte[] code = GuestPrograms.Assemble16(0x7C00, a =>
        {
            a.cli();
            a.hlt();
        });
        using Machine machine = new MachineBuilder()
            .WithFlatBinary(code, new PhysicalAddress(0x7C00), BootEntryState.RealMode(0, 0x7C00, "test"))
            .Build();
        MachineStopReason stop = machine.Run(maxInstructions: 1000);
        Assert.Equal(MachineStopKind.HaltedForGood, stop.Kind);
        Assert.Equal(0, stop.ProcessExitStatus);
    }

    [Fact]
    public void BudgetStopsAnEndlessLoop()
    {
        using Machine machine = BuildEndlessLoop();
        MachineStopReason stop = machine.Run(maxInstructions: 12345);
        Assert.Equal(MachineStopKind.BudgetExhausted, stop.Kind);
        Assert.Equal(12345, machine.Cpu.RetiredInstructions);
    }

    [Fact]
    public void TimeoutStopsAnEndlessLoop()
    {
        using Machine machine = BuildEndlessLoop();
        MachineStopReason stop = machine.Run(timeout: TimeSpan.FromMilliseconds(50));
        Assert.Equal(MachineStopKind.Timeout, stop.Kind);
        Assert.Equal(124, stop.ProcessExitStatus);
    }

    [Fact]
    public async Task CancellationStopsRunAsync()
    {
        using Machine machine = BuildEndlessLoop();
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(50));
        MachineStopReason stop = await machine.RunAsync(cancellationToken: cts.Token);
        Assert.Equal(MachineStopKind.Cancelled, stop.Kind);
    }

    [Fact]
    public async Task TokenCancelledBeforeTheRunStartsStillReturnsCancelled()
    {
        using Machine machine = BuildEndlessLoop();
        using var cts = new CancellationTokenSource();
        await cts.CancelAsync();
        MachineStopReason stop = await machine.RunAsync(cancellationToken: cts.Token);
        Assert.Equal(MachineStopKind.Cancelled, stop.Kind);
    }

    [Fact]
    public void KeyboardControllerResetRestartsOrStops()
    {
        // OUT 64h, FEh: pulse the CPU reset line through the 8042.
        byte[] code = GuestPrograms.Assemble16(0x7C00, a =>
        {
            a.mov(Iced.Intel.AssemblerRegisters.al, 0xFE);
            a.@out(0x64, Iced.Intel.AssemblerRegisters.al);
            a.cli();
            a.hlt();
        });
        using Machine stopping = new MachineBuilder()
            .WithResetBehavior(ResetBehavior.Stop)
            .WithFlatBinary(code, new PhysicalAddress(0x7C00), BootEntryState.RealMode(0, 0x7C00, "test"))
            .Build();
        MachineStopReason stop = stopping.Run(maxInstructions: 1000);
        Assert.Equal(MachineStopKind.ResetRequested, stop.Kind);
        Assert.Contains("8042", stop.Detail, StringComparison.Ordinal);

        using Machine resetting = new MachineBuilder()
            .WithFlatBinary(code, new PhysicalAddress(0x7C00), BootEntryState.RealMode(0, 0x7C00, "test"))
            .Build();
        resetting.Run(maxInstructions: 50);
        Assert.True(resetting.ResetCount >= 1);
    }

    [Fact]
    public void ResetControlRegisterResets()
    {
        byte[] code = GuestPrograms.Assemble16(0x7C00, a =>
        {
            a.mov(Iced.Intel.AssemblerRegisters.dx, 0xCF9);
            a.mov(Iced.Intel.AssemblerRegisters.al, 0x06);
            a.@out(Iced.Intel.AssemblerRegisters.dx, Iced.Intel.AssemblerRegisters.al);
            a.cli();
            a.hlt();
        });
        using Machine machine = new MachineBuilder()
            .WithResetBehavior(ResetBehavior.Stop)
            .WithFlatBinary(code, new PhysicalAddress(0x7C00), BootEntryState.RealMode(0, 0x7C00, "test"))
            .Build();
        Assert.Equal(MachineStopKind.ResetRequested, machine.Run(maxInstructions: 1000).Kind);
    }

    [Fact]
    public void EightMachinesRunIndependentlyOnEightThreads()
    {
        var results = new string[8];
        var threads = Enumerable.Range(0, 8).Select(i => new Thread(() =>
        {
            var console = new BufferCharacterSink();
            using Machine machine = new MachineBuilder()
                .WithMemorySize(4UL << 20)
                .WithDebugConsole(console)
                .WithDebugExit()
                .WithFlatBinary(GuestPrograms.PrintAndExit("machine " + i, (byte)i), new PhysicalAddress(0x7C00), BootEntryState.RealMode(0, 0x7C00, "test"))
                .Build();
            MachineStopReason stop = machine.Run(maxInstructions: 100_000);
            results[i] = $"{console.GetText()}|{stop.ExitCode}";
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());
        for (int i = 0; i < 8; i++)
        {
            Assert.Equal($"machine {i}|{(i << 1) | 1}", results[i]);
        }
    }

    [Fact]
    public void PitInterruptsWakeAHaltedGuestAtTheProgrammedRate()
    {
        // IRQ0 handler at 0000:0600 counts ticks in BX and sends EOI; the main loop halts with interrupts on
        // until 10 ticks arrived, then reports the guest time through the debug-exit code.
        byte[] code = GuestPrograms.Assemble16(0x7C00, a =>
        {
            var handler = a.CreateLabel();
            a.cli();
            a.xor(Iced.Intel.AssemblerRegisters.ax, Iced.Intel.AssemblerRegisters.ax);
            a.mov(Iced.Intel.AssemblerRegisters.ds, Iced.Intel.AssemblerRegisters.ax);
            a.mov(Iced.Intel.AssemblerRegisters.ss, Iced.Intel.AssemblerRegisters.ax);
            a.mov(Iced.Intel.AssemblerRegisters.sp, 0x7000);
            a.xor(Iced.Intel.AssemblerRegisters.bx, Iced.Intel.AssemblerRegisters.bx);
            // Initialise the PIC: vectors 08h-0Fh / 70h-77h, IRQ0 unmasked only.
            GuestPrograms.InitializePics(a, masterMask: 0xFE, slaveMask: 0xFF);

            // IVT entry 8 -> handler.
            a.mov(Iced.Intel.AssemblerRegisters.__word_ptr[0x20], 0x7D00);
            a.mov(Iced.Intel.AssemblerRegisters.__word_ptr[0x22], 0);
            // PIT counter 0, mode 2, count 11932 (100 Hz).
            a.mov(Iced.Intel.AssemblerRegisters.al, 0x34);
            a.@out(0x43, Iced.Intel.AssemblerRegisters.al);
            a.mov(Iced.Intel.AssemblerRegisters.ax, 11932);
            a.@out(0x40, Iced.Intel.AssemblerRegisters.al);
            a.mov(Iced.Intel.AssemblerRegisters.al, Iced.Intel.AssemblerRegisters.ah);
            a.@out(0x40, Iced.Intel.AssemblerRegisters.al);
            a.sti();
            GuestPrograms.HaltUntilBxReachesThenExit(a, 10);
        });
        byte[] handler = GuestPrograms.Assemble16(0x7D00, a =>
        {
            a.inc(Iced.Intel.AssemblerRegisters.bx);
            a.mov(Iced.Intel.AssemblerRegisters.al, 0x20);
            a.@out(0x20, Iced.Intel.AssemblerRegisters.al);
            a.iret();
        });
        byte[] image = GuestPrograms.WithHandlerAt100h(code, handler);
        using Machine machine = new MachineBuilder()
            .WithDebugExit()
            .WithFlatBinary(image, new PhysicalAddress(0x7C00), BootEntryState.RealMode(0, 0x7C00, "test"))
            .Build();
        // The budget covers halted time too: 100 ms of sleep at 100 instructions per µs cost 10 million instruction times.
        MachineStopReason stop = machine.Run(maxInstructions: 20_000_000);
        Assert.Equal(MachineStopKind.DebugExit, stop.Kind);
        Assert.Equal((10 << 1) | 1, stop.ExitCode);
        // Ten ticks at 100 Hz: the guest slept about 100 ms of virtual time while retiring few instructions.
        Assert.InRange(machine.Clock.NowNanoseconds, 95_000_000, 105_000_000);
        Assert.True(machine.Cpu.RetiredInstructions < 1000);
    }

    [Fact]
    public void DeterministicRunsAreIdentical()
    {
        static (long, long, string) RunOnce()
        {
            var console = new BufferCharacterSink();
            using Machine machine = new MachineBuilder()
                .WithDebugConsole(console)
                .WithDebugExit()
                .WithFlatBinary(GuestPrograms.PrintAndExit("same", 1), new PhysicalAddress(0x7C00), BootEntryState.RealMode(0, 0x7C00, "test"))
                .Build();
            machine.Run(maxInstructions: 10_000);
            return (machine.Clock.NowNanoseconds, machine.Cpu.RetiredInstructions, console.GetText());
        }

        Assert.Equal(RunOnce(), RunOnce());
    }

    [Fact]
    public void GuestWritesTextToTheVgaScreen()
    {
        byte[] code = GuestPrograms.Assemble16(0x7C00, a =>
        {
            a.mov(Iced.Intel.AssemblerRegisters.ax, 0xB800);
            a.mov(Iced.Intel.AssemblerRegisters.es, Iced.Intel.AssemblerRegisters.ax);
            a.mov(Iced.Intel.AssemblerRegisters.__word_ptr.es[Iced.Intel.AssemblerRegisters.di], 0x1F48); // 'H' white on blue
            a.mov(Iced.Intel.AssemblerRegisters.__word_ptr.es[Iced.Intel.AssemblerRegisters.di + 2], 0x1F69); // 'i'
            a.cli();
            a.hlt();
        });
        using Machine machine = new MachineBuilder()
            .WithFlatBinary(code, new PhysicalAddress(0x7C00), BootEntryState.RealMode(0, 0x7C00, "test") with { Edi = 0 })
            .Build();
        machine.Run(maxInstructions: 100);
        VgaAdapter vga = machine.FindDevice<VgaAdapter>()!;
        Assert.StartsWith("Hi", vga.GetScreenText()[0], StringComparison.Ordinal);
        Assert.Equal(0x1F, vga.GetAttribute(0, 0));
    }

    [Fact]
    public void UnmaskedX87ErrorReachesIrq13ThroughFerrWhenCr0NeIsClear()
    {
        // CR0.NE is clear after reset, so an unmasked x87 exception is reported the PC/AT way: FERR# -> IRQ13
        // (vector 75h after the PIC setup below); the handler acknowledges it at port F0h, clears the exception and
        // counts in BX.
        byte[] code = GuestPrograms.Assemble16(0x7C00, a =>
        {
            a.cli();
            a.xor(Iced.Intel.AssemblerRegisters.ax, Iced.Intel.AssemblerRegisters.ax);
            a.mov(Iced.Intel.AssemblerRegisters.ds, Iced.Intel.AssemblerRegisters.ax);
            a.mov(Iced.Intel.AssemblerRegisters.ss, Iced.Intel.AssemblerRegisters.ax);
            a.mov(Iced.Intel.AssemblerRegisters.sp, 0x7000);
            a.xor(Iced.Intel.AssemblerRegisters.bx, Iced.Intel.AssemblerRegisters.bx);
            GuestPrograms.InitializePics(a, masterMask: 0xFB, slaveMask: 0xDF);

            a.mov(Iced.Intel.AssemblerRegisters.__word_ptr[0x75 * 4], 0x7D00);
            a.mov(Iced.Intel.AssemblerRegisters.__word_ptr[(0x75 * 4) + 2], 0);
            a.fninit();
            a.mov(Iced.Intel.AssemblerRegisters.__word_ptr[0x600], 0x037B); // all exceptions masked but ZE
            a.fldcw(Iced.Intel.AssemblerRegisters.__word_ptr[0x600]);
            a.sti();
            a.fld1();
            a.fldz();
            a.fdivp(Iced.Intel.AssemblerRegisters.st1, Iced.Intel.AssemblerRegisters.st0); // 1/0: unmasked #Z, pending
            a.wait();                                                                       // FERR# asserted here
            GuestPrograms.HaltUntilBxReachesThenExit(a, 1);
        });
        byte[] handler = GuestPrograms.Assemble16(0x7D00, a =>
        {
            a.inc(Iced.Intel.AssemblerRegisters.bx);
            a.@out(0xF0, Iced.Intel.AssemblerRegisters.al);   // clear the FERR# latch
            a.fnclex();
            a.mov(Iced.Intel.AssemblerRegisters.al, 0x20);
            a.@out(0xA0, Iced.Intel.AssemblerRegisters.al);
            a.@out(0x20, Iced.Intel.AssemblerRegisters.al);
            a.iret();
        });
        byte[] image = GuestPrograms.WithHandlerAt100h(code, handler);
        using Machine machine = new MachineBuilder()
            .WithDebugExit()
            .WithFlatBinary(image, new PhysicalAddress(0x7C00), BootEntryState.RealMode(0, 0x7C00, "test"))
            .Build();
        MachineStopReason stop = machine.Run(maxInstructions: 100_000, timeout: TimeSpan.FromSeconds(30));
        Assert.Equal(MachineStopKind.DebugExit, stop.Kind);
        Assert.Equal((1 << 1) | 1, stop.ExitCode);
        Assert.False(machine.Cpu.FerrAsserted);
    }

    [Fact]
    public void PitCounterReadsAndRdtscInsideOneTimerSliceSeeTheTimeOfTheAccess()
    {
        // PIT counter 2 in mode 0 counts down from FFFFh; the guest latches and reads it, spins 2000 LOOP iterations,
        // reads it again, and reads the TSC around the spin. Nothing is due in between, so all of it runs in one
        // timer slice: the reads must still see the time of each access (the Linux TSC calibration depends on it).
        byte[] code = GuestPrograms.Assemble16(0x7C00, a =>
        {
            var spin = a.CreateLabel();
            a.cli();
            a.@in(Iced.Intel.AssemblerRegisters.al, 0x61);
            a.or(Iced.Intel.AssemblerRegisters.al, 1); // gate counter 2
            a.@out(0x61, Iced.Intel.AssemblerRegisters.al);
            a.mov(Iced.Intel.AssemblerRegisters.al, 0xB0); // counter 2, low then high byte, mode 0
            a.@out(0x43, Iced.Intel.AssemblerRegisters.al);
            a.mov(Iced.Intel.AssemblerRegisters.al, 0xFF);
            a.@out(0x42, Iced.Intel.AssemblerRegisters.al);
            a.@out(0x42, Iced.Intel.AssemblerRegisters.al);
            var settle = a.CreateLabel();
            a.mov(Iced.Intel.AssemblerRegisters.cx, 200); // the count loads on the next input clock (838 ns): wait 2 µs
            a.Label(ref settle);
            a.loop(settle);
            ReadCounter2(a);
            a.mov(Iced.Intel.AssemblerRegisters.si, Iced.Intel.AssemblerRegisters.ax);
            a.rdtsc();
            a.mov(Iced.Intel.AssemblerRegisters.ebp, Iced.Intel.AssemblerRegisters.eax);
            a.mov(Iced.Intel.AssemblerRegisters.cx, 2000);
            a.Label(ref spin);
            a.loop(spin);
            a.rdtsc();
            a.sub(Iced.Intel.AssemblerRegisters.eax, Iced.Intel.AssemblerRegisters.ebp);
            a.mov(Iced.Intel.AssemblerRegisters.ebp, Iced.Intel.AssemblerRegisters.eax);
            ReadCounter2(a);
            a.mov(Iced.Intel.AssemblerRegisters.di, Iced.Intel.AssemblerRegisters.ax);
            a.hlt();
        });
        using Machine machine = new MachineBuilder()
            .WithFlatBinary(code, new PhysicalAddress(0x7C00), BootEntryState.RealMode(0, 0x7C00, "test"))
            .Build();
        MachineStopReason stop = machine.Run(maxInstructions: 100_000);
        Assert.Equal(MachineStopKind.HaltedForGood, stop.Kind);

        // From the first RDTSC to the second, 2003 instructions (RDTSC, two MOVs, 2000 LOOPs) at 100 instructions per µs
        // (the deterministic default) with a 1 GHz TSC: 20.03 µs, give or take the nanosecond the clock rounds.
        long perMicrosecond = machine.Clock.InstructionsPerMicrosecond;
        long tscDelta = (long)(machine.Cpu.GetRegister(GeneralRegister.Rbp) & 0xFFFF_FFFF);
        Assert.InRange(tscDelta, (2003 * 1000 / perMicrosecond) - 1, (2003 * 1000 / perMicrosecond) + 1);

        // The counter ticks at 1.193182 MHz: from the first latch to the second, 2013 instructions (about 24 ticks).
        long ticks = (ushort)machine.Cpu.GetRegister(GeneralRegister.Rsi) - (ushort)machine.Cpu.GetRegister(GeneralRegister.Rdi);
        double expected = 2013 * 1000.0 / perMicrosecond * 1.193182 / 1000;
        Assert.InRange(ticks, (long)Math.Floor(expected) - 1, (long)Math.Ceiling(expected) + 1);
    }

    [Fact]
    public void RdtscInRealTimeModeMovesByTheInstructionsRunNotByHostStalls()
    {
        // A host on which every look at the clock finds 100 µs gone (a busy, preempted host). Between two RDTSCs the guest
        // runs 103 instructions (RDTSC, two MOVs, 100 LOOPs: 1.03 µs at 100 per µs); the clock slews toward the host by at
        // most VirtualClock.SlewCatchUpFactor times that instead of stepping by the host's 100 µs.
        byte[] code = GuestPrograms.Assemble16(0x7C00, a =>
        {
            var spin = a.CreateLabel();
            a.cli();
            a.rdtsc();
            a.mov(Iced.Intel.AssemblerRegisters.ebp, Iced.Intel.AssemblerRegisters.eax);
            a.mov(Iced.Intel.AssemblerRegisters.cx, 100);
            a.Label(ref spin);
            a.loop(spin);
            a.rdtsc();
            a.sub(Iced.Intel.AssemblerRegisters.eax, Iced.Intel.AssemblerRegisters.ebp);
            a.mov(Iced.Intel.AssemblerRegisters.ebp, Iced.Intel.AssemblerRegisters.eax);
            a.hlt();
        });
        using Machine machine = new MachineBuilder()
            .WithClock(new VirtualClockOptions { Mode = VirtualClockMode.RealTime, TimeProvider = new SteppingTimeProvider(TimeSpan.FromMicroseconds(100)) })
            .WithFlatBinary(code, new PhysicalAddress(0x7C00), BootEntryState.RealMode(0, 0x7C00, "test"))
            .Build();
        machine.Run(maxInstructions: 1_000);

        long instructionTime = 103 * 1000 / machine.Clock.InstructionsPerMicrosecond;
        long tscDelta = (long)(machine.Cpu.GetRegister(GeneralRegister.Rbp) & 0xFFFF_FFFF);
        Assert.InRange(tscDelta, instructionTime - 1, (instructionTime * (1 + VirtualClock.SlewCatchUpFactor)) + 1);
    }

    /// <summary>A host clock that moves on by a fixed step each time it is read.</summary>
    private sealed class SteppingTimeProvider(TimeSpan step) : TimeProvider
    {
        private long _ticks;

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public override long GetTimestamp() => _ticks += step.Ticks;
    }

    private static void ReadCounter2(Iced.Intel.Assembler a)
    {
        a.mov(Iced.Intel.AssemblerRegisters.al, 0x80); // latch counter 2
        a.@out(0x43, Iced.Intel.AssemblerRegisters.al);
        a.@in(Iced.Intel.AssemblerRegisters.al, 0x42);
        a.mov(Iced.Intel.AssemblerRegisters.ah, Iced.Intel.AssemblerRegisters.al);
        a.@in(Iced.Intel.AssemblerRegisters.al, 0x42);
        a.xchg(Iced.Intel.AssemblerRegisters.al, Iced.Intel.AssemblerRegisters.ah);
    }

    /// <summary>A machine whose guest spins on <c>JMP $</c> forever.</summary>
    private static Machine BuildEndlessLoop()
    {
        byte[] code = GuestPrograms.Assemble16(0x7C00, a =>
        {
            var top = a.CreateLabel();
            a.Label(ref top);
            a.jmp(top);
        });
        return new MachineBuilder()
            .WithFlatBinary(code, new PhysicalAddress(0x7C00), BootEntryState.RealMode(0, 0x7C00, "test"))
            .Build();
    }
}
