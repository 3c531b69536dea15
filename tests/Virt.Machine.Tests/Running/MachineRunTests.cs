using Virt.Devices;
using Virt.Devices.Backends;
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
        byte[] code = GuestPrograms.Assemble16(0x7C00, a =>
        {
            var top = a.CreateLabel();
            a.Label(ref top);
            a.jmp(top);
        });
        using Machine machine = new MachineBuilder()
            .WithFlatBinary(code, new PhysicalAddress(0x7C00), BootEntryState.RealMode(0, 0x7C00, "test"))
            .Build();
        MachineStopReason stop = machine.Run(maxInstructions: 12345);
        Assert.Equal(MachineStopKind.BudgetExhausted, stop.Kind);
        Assert.Equal(12345, machine.Cpu.RetiredInstructions);
    }

    [Fact]
    public void TimeoutStopsAnEndlessLoop()
    {
        byte[] code = GuestPrograms.Assemble16(0x7C00, a =>
        {
            var top = a.CreateLabel();
            a.Label(ref top);
            a.jmp(top);
        });
        using Machine machine = new MachineBuilder()
            .WithFlatBinary(code, new PhysicalAddress(0x7C00), BootEntryState.RealMode(0, 0x7C00, "test"))
            .Build();
        MachineStopReason stop = machine.Run(timeout: TimeSpan.FromMilliseconds(50));
        Assert.Equal(MachineStopKind.Timeout, stop.Kind);
        Assert.Equal(124, stop.ProcessExitStatus);
    }

    [Fact]
    public async Task CancellationStopsRunAsync()
    {
        byte[] code = GuestPrograms.Assemble16(0x7C00, a =>
        {
            var top = a.CreateLabel();
            a.Label(ref top);
            a.jmp(top);
        });
        using Machine machine = new MachineBuilder()
            .WithFlatBinary(code, new PhysicalAddress(0x7C00), BootEntryState.RealMode(0, 0x7C00, "test"))
            .Build();
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(50));
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
}
