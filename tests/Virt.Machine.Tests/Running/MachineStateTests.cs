using Virt.Cpu;
using Virt.Devices;
using Virt.Machine.Boot;
using Virt.Memory;
using Xunit;
using static Iced.Intel.AssemblerRegisters;

namespace Virt.Machine.Tests.Running;

/// <summary><see cref="Machine.SaveState"/> and <see cref="Machine.RestoreState"/>: CPU, clock and devices together, all or nothing.</summary>
public sealed class MachineStateTests
{
    [Fact]
    public void RestoringAnEarlierStateReplaysTheSameRun()
    {
        using Machine machine = BuildTickingGuest();
        machine.Run(maxInstructions: 3_000_000); // a few PIT ticks
        MachineState saved = machine.SaveState();

        machine.Run(maxInstructions: 5_000_000);
        (ulong Ticks, long Time, long Retired) first = Observe(machine);

        machine.RestoreState(saved);
        Assert.Equal(saved.Clock.NowNanoseconds, machine.Clock.NowNanoseconds);
        Assert.Equal(saved.Cpu.RetiredInstructions, machine.Cpu.RetiredInstructions);
        machine.Run(maxInstructions: 5_000_000);
        Assert.Equal(first, Observe(machine));
        Assert.True(first.Ticks >= 5); // the PIT's timer was rescheduled from its restored state
    }

    [Fact]
    public void RecordWithAMissingOrMistypedDeviceIsRefusedBeforeAnythingChanges()
    {
        using Machine machine = BuildTickingGuest();
        machine.Run(maxInstructions: 1_000_000);
        MachineState saved = machine.SaveState();
        machine.Run(maxInstructions: 1_000_000);
        (ulong, long, long) now = Observe(machine);

        var missing = new Dictionary<string, object>(saved.Devices);
        missing.Remove("PIT");
        var e = Assert.Throws<ArgumentException>(() => machine.RestoreState(saved with { Devices = missing }));
        Assert.Contains("'PIT'", e.Message, StringComparison.Ordinal);

        var mistyped = new Dictionary<string, object>(saved.Devices) { ["PIT"] = saved.Clock };
        e = Assert.Throws<ArgumentException>(() => machine.RestoreState(saved with { Devices = mistyped }));
        Assert.Contains("Pit8254State", e.Message, StringComparison.Ordinal);

        Assert.Throws<ArgumentException>(() => machine.RestoreState(saved with { Cpu = saved.Cpu with { RetiredInstructions = -1 } }));
        Assert.Throws<ArgumentException>(() => machine.RestoreState(saved with { Clock = saved.Clock with { NowNanoseconds = long.MaxValue } }));
        Assert.Equal(now, Observe(machine));
    }

    [Fact]
    public void DeviceThatRefusesItsRecordLeavesTheMachineAsBefore()
    {
        using Machine machine = BuildTickingGuest();
        machine.Run(maxInstructions: 1_000_000);
        MachineState saved = machine.SaveState();
        machine.Run(maxInstructions: 1_000_000);
        (ulong, long, long) now = Observe(machine);
        MachineState current = machine.SaveState();

        var bad = new Dictionary<string, object>(saved.Devices) { ["PIT"] = ((Pit8254State)saved.Devices["PIT"]) with { Version = 99 } };
        var e = Assert.Throws<ArgumentException>(() => machine.RestoreState(saved with { Devices = bad }));
        Assert.Contains("MachineState.Devices['PIT']", e.Message, StringComparison.Ordinal);
        Assert.Equal(now, Observe(machine));
        Assert.Equal(current.Clock, machine.Clock.SaveState());

        // Still runs on, and ticks: the PIT's timer was put back too.
        machine.Run(maxInstructions: 3_000_000);
        Assert.True(Observe(machine).Ticks > now.Item1);
    }

    private static (ulong Ticks, long Time, long Retired) Observe(Machine machine) =>
        (machine.Cpu.GetRegister(GeneralRegister.Rbx) & 0xFFFF, machine.Clock.NowNanoseconds, machine.Cpu.RetiredInstructions);

    /// <summary>A guest that counts 100 Hz PIT interrupts in BX while halting between them.</summary>
    private static Machine BuildTickingGuest()
    {
        byte[] code = GuestPrograms.Assemble16(0x7C00, a =>
        {
            var top = a.CreateLabel();
            a.cli();
            a.xor(ax, ax);
            a.mov(ds, ax);
            a.mov(ss, ax);
            a.mov(sp, 0x7000);
            a.xor(bx, bx);
            GuestPrograms.InitializePics(a, masterMask: 0xFE, slaveMask: 0xFF);
            a.mov(__word_ptr[0x20], 0x7D00);
            a.mov(__word_ptr[0x22], 0);
            a.mov(al, 0x34);
            a.@out(0x43, al);
            a.mov(ax, 11932);
            a.@out(0x40, al);
            a.mov(al, ah);
            a.@out(0x40, al);
            a.Label(ref top);
            a.sti();
            a.hlt();
            a.jmp(top);
        });
        byte[] handler = GuestPrograms.Assemble16(0x7D00, a =>
        {
            a.inc(bx);
            a.mov(al, 0x20);
            a.@out(0x20, al);
            a.iret();
        });
        return new MachineBuilder()
            .WithFlatBinary(GuestPrograms.WithHandlerAt100h(code, handler), new PhysicalAddress(0x7C00), BootEntryState.RealMode(0, 0x7C00, "test"))
            .Build();
    }
}
