using FsCheck.Xunit;
using Virt.Devices;
using Virt.Devices.Tests.Fakes;
using Virt.Memory;
using Xunit;

namespace Virt.Devices.Tests.Apic;

/// <summary>Save, restore into a fresh device, save again: the records are equal and the registers read the same.</summary>
public sealed class ApicStatePropertyTests
{
    private static readonly int[] s_lapicRegisters = [0x20, 0x80, 0xB0, 0xD0, 0xE0, 0xF0, 0x280, 0x300, 0x310, 0x320, 0x330, 0x340, 0x350, 0x360, 0x370, 0x380, 0x3E0];

    [Property(MaxTest = 200)]
    public bool Local_apic_state_round_trips((byte Register, uint Value, byte Vector, ushort Delay)[] operations)
    {
        var clock = new ManualClock();
        var apic = new LocalApic(clock);
        apic.Set(0xF0, 0x1FF);
        foreach ((byte register, uint value, byte vector, ushort delay) in operations)
        {
            apic.Set(s_lapicRegisters[register % s_lapicRegisters.Length], value);
            apic.DeliverInterrupt(ApicDeliveryMode.Fixed, vector, (vector & 1) != 0, false, 0);
            if (apic.HasPendingInterrupt)
            {
                apic.AcknowledgeInterrupt();
            }

            clock.Advance(delay);
        }

        LocalApicState saved = apic.SaveState();
        var copy = new LocalApic(clock);
        copy.RestoreState(saved);
        Assert.Equal(saved, copy.SaveState());
        for (int offset = 0; offset < 0x400; offset += 0x10)
        {
            Assert.Equal(apic.Get(offset), copy.Get(offset));
        }

        // Both count on alike: the timer state came across.
        clock.Advance(50_000);
        Assert.Equal(apic.HasPendingInterrupt, copy.HasPendingInterrupt);
        Assert.Equal(apic.Get(0x390), copy.Get(0x390));
        return true;
    }

    [Property(MaxTest = 200)]
    public bool X2apic_state_round_trips((byte Register, uint Value, ulong Destination, ushort Delay)[] operations)
    {
        // The same traffic through the x2APIC MSRs (SDM 11.12): 64-bit ICR destinations, SELF IPIs, refused writes.
        var clock = new ManualClock();
        var options = new LocalApicOptions { ApicId = 5, X2ApicSupported = true };
        var apic = new LocalApic(clock, options);
        Assert.True(apic.TryWriteApicBaseMsr(0xFEE0_0D00));
        Assert.True(apic.TryWriteX2ApicMsr(0x80F, 0x1FF));
        foreach ((byte register, uint value, ulong destination, ushort delay) in operations)
        {
            uint msr = LocalApic.X2ApicFirstMsr + (uint)(s_lapicRegisters[register % s_lapicRegisters.Length] >> 4);
            apic.TryWriteX2ApicMsr(msr, msr == LocalApic.X2ApicIcrMsr ? (destination << 32) | value : value);
            apic.TryWriteX2ApicMsr(LocalApic.X2ApicSelfIpiMsr, (byte)value);
            if (apic.HasPendingInterrupt)
            {
                apic.AcknowledgeInterrupt();
            }

            clock.Advance(delay);
        }

        LocalApicState saved = apic.SaveState();
        var copy = new LocalApic(clock, options);
        copy.RestoreState(saved);
        Assert.Equal(saved, copy.SaveState());
        for (uint msr = LocalApic.X2ApicFirstMsr; msr <= LocalApic.X2ApicLastMsr; msr++)
        {
            Assert.Equal(apic.TryReadX2ApicMsr(msr, out ulong expected), copy.TryReadX2ApicMsr(msr, out ulong actual));
            Assert.Equal(expected, actual);
        }

        return true;
    }

    [Property(MaxTest = 200)]
    public bool Io_apic_state_round_trips((byte Register, uint Value, byte Pin, bool Level)[] operations)
    {
        var ioApic = new IoApic { Target = new RecordingApicTarget() };
        InterruptLine[] lines = [.. Enumerable.Range(0, IoApic.PinCount).Select(p => ioApic.CreateInputLine(p, "test"))];
        foreach ((byte register, uint value, byte pin, bool level) in operations)
        {
            ioApic.Set(register % 0x40, value);
            lines[pin % IoApic.PinCount].SetLevel(level);
            if (level)
            {
                ioApic.OnEndOfInterrupt((byte)value);
            }
        }

        IoApicState saved = ioApic.SaveState();
        var copy = new IoApic();
        copy.RestoreState(saved);
        Assert.Equal(saved, copy.SaveState());
        for (int register = 0; register < 0x40; register++)
        {
            Assert.Equal(ioApic.Get(register), copy.Get(register));
        }

        return true;
    }

    [Fact]
    public void Restore_refuses_a_wrong_version_or_a_short_table()
    {
        var ioApic = new IoApic();
        IoApicState good = ioApic.SaveState();
        Assert.Throws<ArgumentException>(() => ioApic.RestoreState(good with { Version = 99 }));
        Assert.Throws<ArgumentException>(() => ioApic.RestoreState(good with { RedirectionTable = new ulong[3] }));
        var apic = new LocalApic(new ManualClock());
        LocalApicState state = apic.SaveState();
        Assert.Throws<ArgumentException>(() => apic.RestoreState(state with { Requests = new uint[2] }));
        Assert.Throws<ArgumentException>(() => apic.RestoreState(state with { ApicBaseMsr = 0xFEE0_0C00 }));
    }
}
