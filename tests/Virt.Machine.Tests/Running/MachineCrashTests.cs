using System.Globalization;
using Iced.Intel;
using Microsoft.Extensions.Logging;
using Virt.Cpu;
using Virt.Machine.Boot;
using Virt.Memory;
using Xunit;
using static Iced.Intel.AssemblerRegisters;

namespace Virt.Machine.Tests.Running;

/// <summary>What a machine says about a guest that crashes: the triple-fault chain, the reset loop, the trace points.</summary>
public sealed class MachineCrashTests
{
    private const ushort Origin = 0x7C00;
    private const int VectorInvalidOpcode = 6;
    private const int VectorDoubleFault = 8;
    private const int VectorGeneralProtection = 13;

    /// <summary>The address of the UD2 in <see cref="TripleFault"/>: after LIDT [0600h] (0F 01 1E 00 06, five bytes).</summary>
    private const ushort Ud2Address = Origin + 5;

    /// <summary>
    /// Real-mode code that loads an IDT limit of zero (the descriptor at 0600h is zeroed RAM) and executes UD2: #UD lies
    /// beyond the IVT, which is #GP, so #DF, which lies beyond it too: shutdown.
    /// </summary>
    private static byte[] TripleFault() => GuestPrograms.Assemble16(Origin, a =>
    {
        a.lidt(__[0x600]);
        a.ud2();
    });

    private static MachineBuilder Builder(byte[] code, CapturingLoggerFactory? logs = null, ResetBehavior behavior = ResetBehavior.Reset)
    {
        var builder = new MachineBuilder()
            .WithMemorySize(4UL << 20)
            .WithResetBehavior(behavior)
            .WithFlatBinary(code, new PhysicalAddress(Origin), BootEntryState.RealMode(0, Origin, "test"));
        return logs is null ? builder : builder.WithLoggerFactory(logs);
    }

    [Fact]
    public void TripleFaultWithStopOnResetCarriesAndLogsTheExceptionChain()
    {
        var logs = new CapturingLoggerFactory();
        using Machine machine = Builder(TripleFault(), logs, ResetBehavior.Stop).Build();

        MachineStopReason stop = machine.Run(maxInstructions: 1000);

        Assert.Equal(MachineStopKind.Shutdown, stop.Kind);
        Assert.Equal(ProcessExitStatuses.GuestCrashed, stop.ProcessExitStatus);
        CpuShutdownReport crash = Assert.IsType<CpuShutdownReport>(stop.Crash);
        Assert.Equal([VectorInvalidOpcode, VectorGeneralProtection, VectorDoubleFault, VectorGeneralProtection], crash.Exceptions.Select(e => e.Vector));
        CpuExceptionRecord first = crash.Exceptions[0];
        Assert.Equal((ushort)0, first.CodeSelector);
        Assert.Equal(Ud2Address, first.Eip);
        Assert.Equal((ulong)Ud2Address, first.LinearAddress);
        Assert.Equal(CpuMode.Real, first.Mode);
        Assert.Equal(machine.Cpu.Cr0, first.Cr0);
        Assert.Equal(0UL, first.Cr2);
        Assert.Equal(0UL, first.Cr3);
        Assert.Equal(0UL, first.Cr4);
        Assert.Contains("#UD at 0000:00007C05", stop.Detail, StringComparison.Ordinal);

        // The Warning log: a header, then one line per exception with CS:EIP, the mode and the control registers.
        string[] warnings = [.. logs.Messages(MachineLogCategories.Machine, LogLevel.Warning)];
        Assert.Equal(1 + crash.Exceptions.Count, warnings.Length);
        Assert.Contains("triple fault", warnings[0], StringComparison.Ordinal);
        Assert.Contains("4 exceptions", warnings[0], StringComparison.Ordinal);
        string cr0 = "CR0=" + machine.Cpu.Cr0.ToString("X8", CultureInfo.InvariantCulture);
        Assert.StartsWith("  1: #UD at 0000:00007C05 (linear 00007C05), real, " + cr0 + " CR2=00000000 CR3=00000000 CR4=00000000", warnings[1], StringComparison.Ordinal);
        Assert.StartsWith("  2: #GP at 0000:00007C05", warnings[2], StringComparison.Ordinal);
        Assert.StartsWith("  3: #DF at", warnings[3], StringComparison.Ordinal);
        Assert.StartsWith("  4: #GP at", warnings[4], StringComparison.Ordinal);
    }

    [Fact]
    public void TheSameTripleFaultAgainAndAgainIsAResetLoop()
    {
        var logs = new CapturingLoggerFactory();
        using Machine machine = Builder(TripleFault(), logs).WithTrace(MachineTraceEvents.Resets).Build();

        MachineStopReason stop = machine.Run(maxInstructions: 1_000_000);

        Assert.Equal(MachineStopKind.ResetLoop, stop.Kind);
        Assert.Equal(ProcessExitStatuses.GuestCrashed, stop.ProcessExitStatus);
        Assert.NotNull(stop.Crash);
        Assert.Equal(VectorInvalidOpcode, stop.Crash.First?.Vector);
        Assert.Contains("8 times in a row", stop.Detail, StringComparison.Ordinal);

        // Eight crashes, seven resets between them, each traced.
        Assert.Equal(7, machine.ResetCount);
        string[] resets = [.. logs.Messages(MachineLogCategories.TraceResets, LogLevel.Trace)];
        Assert.Equal(7, resets.Length);
        Assert.StartsWith("Reset 1 (triple fault) at 0000:00007C05", resets[0], StringComparison.Ordinal);
        Assert.StartsWith("Reset 7 (triple fault)", resets[6], StringComparison.Ordinal);

        // Warnings for the first few resets, then one for the stop, each a header with the chain below it.
        string[] headers = [.. logs.Messages(MachineLogCategories.Machine, LogLevel.Warning).Where(m => m.StartsWith("CPU shutdown", StringComparison.Ordinal))];
        Assert.Equal(5, headers.Length);
        Assert.Contains("reset loop", headers[^1], StringComparison.Ordinal);
    }

    [Fact]
    public void ResetAlwaysKeepsResettingAsQemuDoes()
    {
        using Machine machine = Builder(TripleFault(), behavior: ResetBehavior.ResetAlways).Build();

        MachineStopReason stop = machine.Run(maxInstructions: 1000);

        Assert.Equal(MachineStopKind.BudgetExhausted, stop.Kind);
        Assert.True(machine.ResetCount > 8, $"only {machine.ResetCount} resets");
    }

    [Fact]
    public void AGuestThatDoesMoreWorkBeforeEachCrashIsNotALoop()
    {
        // Each boot counts itself in RAM (which survives the reset) and spins 1024 times more than the last before
        // crashing at the same place: progress, however pointless.
        byte[] code = GuestPrograms.Assemble16(Origin, a =>
        {
            Label spin = a.CreateLabel();
            a.xor(ax, ax);
            a.mov(ds, ax);
            a.inc(__word_ptr[0x500]);
            a.mov(cx, __word_ptr[0x500]);
            a.shl(cx, 10);
            a.Label(ref spin);
            a.loop(spin);
            a.lidt(__[0x600]);
            a.ud2();
        });
        using Machine machine = Builder(code).Build();

        MachineStopReason stop = machine.Run(maxInstructions: 400_000);

        Assert.Equal(MachineStopKind.BudgetExhausted, stop.Kind);
        Assert.True(machine.ResetCount > 8, $"only {machine.ResetCount} resets");
    }

    [Fact]
    public void AnotherKindOfResetBreaksTheStreak()
    {
        // Boots alternate (a flag byte in RAM): a triple fault, then a reset through the 8042; never eight crashes in a row.
        byte[] code = GuestPrograms.Assemble16(Origin, a =>
        {
            Label crash = a.CreateLabel();
            a.xor(ax, ax);
            a.mov(ds, ax);
            a.xor(__byte_ptr[0x500], 1);
            a.jnz(crash);
            a.mov(al, 0xFE);
            a.@out(0x64, al);
            a.Label(ref crash);
            a.lidt(__[0x600]);
            a.ud2();
        });
        using Machine machine = Builder(code).Build();

        MachineStopReason stop = machine.Run(maxInstructions: 2000);

        Assert.Equal(MachineStopKind.BudgetExhausted, stop.Kind);
        Assert.True(machine.ResetCount > 16, $"only {machine.ResetCount} resets");
    }

    [Fact]
    public void TraceLogsInterruptsAndPortIo()
    {
        const ushort Handler = 0x7D00;
        byte[] code = GuestPrograms.Assemble16(Origin, a =>
        {
            a.xor(ax, ax);
            a.mov(ds, ax);
            a.mov(__word_ptr[0x21 * 4], Handler);
            a.mov(__word_ptr[(0x21 * 4) + 2], 0);
            a.mov(al, 0x42);
            a.@out(0x80, al);
            a.@in(al, 0x61);
            a.@int(0x21);
            a.cli();
            a.hlt();
        });
        byte[] image = new byte[0x200];
        code.CopyTo(image, 0);
        image[Handler - Origin] = 0xCF; // IRET
        var logs = new CapturingLoggerFactory();
        using Machine machine = Builder(image, logs).WithTrace(MachineTraceEvents.Interrupts | MachineTraceEvents.PortIo).Build();

        Assert.Equal(MachineStopKind.HaltedForGood, machine.Run(maxInstructions: 1000).Kind);

        Assert.Equal(MachineTraceEvents.Interrupts | MachineTraceEvents.PortIo, machine.TracedEvents);
        string[] ports = [.. logs.Messages(MachineLogCategories.TracePortIo, LogLevel.Trace)];
        Assert.Contains("OUT port 0x0080 width 1 value 0x42", ports);
        Assert.Contains(ports, p => p.StartsWith("IN port 0x0061 width 1 value 0x", StringComparison.Ordinal));
        string interrupt = Assert.Single(logs.Messages(MachineLogCategories.TraceInterrupts, LogLevel.Trace));
        Assert.StartsWith("INT 0x21 (software) at 0000:", interrupt, StringComparison.Ordinal);
        Assert.Contains("(real)", interrupt, StringComparison.Ordinal);
        Assert.Contains("v=21 e=0000 i=1 cpl=0 IP=0000:", interrupt, StringComparison.Ordinal); // QEMU's -d int fields
    }

    [Fact]
    public void WithoutTraceNothingIsTracedOrInstalled()
    {
        var logs = new CapturingLoggerFactory();
        using Machine machine = Builder(GuestPrograms.PrintAndExit("x", 0), logs).Build();

        machine.Run(maxInstructions: 1000);

        Assert.Equal(MachineTraceEvents.None, machine.TracedEvents);
        Assert.Null(machine.Cpu.EventObserver);
        Assert.DoesNotContain(logs.Entries, e => e.Category.StartsWith(MachineLogCategories.TracePrefix, StringComparison.Ordinal));
    }
}
