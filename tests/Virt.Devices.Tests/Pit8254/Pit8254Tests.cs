using FsCheck.Xunit;
using Virt.Devices;
using Virt.Devices.Tests.Timing;
using Xunit;

namespace Virt.Devices.Tests.Pit8254;

public sealed class Pit8254Tests
{
    private readonly VirtualClock _clock = new();
    private readonly List<long> _irq0Edges = [];
    private readonly Devices.Pit8254 _pit;
    private readonly SystemControlPortB _portB;
    private readonly TimingTestPorts _ports = new();

    public Pit8254Tests()
    {
        var input = new InterruptInput("IRQ0", level =>
        {
            if (level)
            {
                _irq0Edges.Add(_clock.NowNanoseconds);
            }
        });
        _pit = new Devices.Pit8254(_clock, input.CreateLine("PIT"));
        _portB = new SystemControlPortB(_clock, _pit);
        _ports.Add(_pit).Add(_portB);
        _irq0Edges.Clear(); // OUT 0 is high at power-on (an undefined state on the chip)
    }

    [Fact]
    public void Tick_conversion_round_trips()
    {
        foreach (long tick in new long[] { 1, 2, 1193, 1_193_181, 1_193_182, 1_193_183, 123_456_789_012 })
        {
            long ns = Devices.Pit8254.TimeOfTick(tick);
            Assert.Equal(tick, Devices.Pit8254.TicksAt(ns));
            Assert.Equal(tick - 1, Devices.Pit8254.TicksAt(ns - 1));
        }
    }

    [Fact]
    public void Mode2_raises_irq0_at_the_programmed_rate()
    {
        Program(0, 0x34, 1193); // counter 0, LSB then MSB, mode 2: ~1000 Hz
        _clock.RunUntil(100_000_000);

        // Written at tick 0, loaded at tick 1; OUT rises when CE reloads, every 1193 ticks.
        Assert.Equal(100, _irq0Edges.Count);
        for (int m = 0; m < _irq0Edges.Count; m++)
        {
            Assert.Equal(Devices.Pit8254.TimeOfTick(1 + (1193L * (m + 1))), _irq0Edges[m]);
        }
    }

    [Fact]
    public void Mode3_with_count_zero_gives_the_bios_18_2_hz_tick()
    {
        Program(0, 0x36, 0); // 65536
        _clock.RunUntil(1_000_000_000);
        Assert.Equal(18, _irq0Edges.Count);
        long period = _irq0Edges[1] - _irq0Edges[0];
        Assert.InRange(period, 54_925_000, 54_926_000); // 65536 / 1.193182 MHz = 54.925 ms
    }

    [Fact]
    public void Mode3_output_is_a_square_wave()
    {
        _ports.Out(0x61, 0x01); // gate counter 2
        Program(2, 0xB6, 100); // counter 2, mode 3
        // Loaded at tick 1: high for 50 ticks, low for 50.
        AdvanceToTick(1 + 49);
        Assert.True(Out2());
        AdvanceToTick(1 + 50);
        Assert.False(Out2());
        AdvanceToTick(1 + 99);
        Assert.False(Out2());
        AdvanceToTick(1 + 100);
        Assert.True(Out2());
    }

    [Fact]
    public void Mode0_interrupts_once_on_terminal_count()
    {
        Program(0, 0x30, 1000);
        AdvanceToTick(1 + 999);
        Assert.Empty(_irq0Edges);
        Assert.False(_pit.GetOutput(0));
        Assert.Equal(1, ReadCount(0));
        AdvanceToTick(1 + 1000);
        Assert.Single(_irq0Edges);
        Assert.True(_pit.GetOutput(0));
        _clock.RunUntil(_clock.NowNanoseconds + 10_000_000);
        Assert.Single(_irq0Edges);
        Assert.Equal(0xFFFF - 11931 + 1, ReadCount(0), 2.0); // keeps counting down through zero
    }

    [Fact]
    public void Mode0_first_byte_of_a_new_count_stops_counting_and_lowers_out()
    {
        Program(0, 0x30, 10);
        AdvanceToTick(20);
        Assert.True(_pit.GetOutput(0));
        _ports.Out(0x40, 50);
        Assert.False(_pit.GetOutput(0));
        AdvanceToTick(30);
        _ports.Out(0x40, 0);
        AdvanceToTick(30 + 50);
        Assert.False(_pit.GetOutput(0));
        AdvanceToTick(31 + 50);
        Assert.True(_pit.GetOutput(0));
        Assert.Equal(2, _irq0Edges.Count);
    }

    [Fact]
    public void Mode4_strobes_once()
    {
        Program(0, 0x38, 100);
        AdvanceToTick(1 + 100);
        Assert.False(_pit.GetOutput(0)); // the one-clock strobe
        Assert.Empty(_irq0Edges);
        AdvanceToTick(1 + 101);
        Assert.True(_pit.GetOutput(0));
        Assert.Single(_irq0Edges);
        _clock.RunUntil(_clock.NowNanoseconds + 100_000_000);
        Assert.Single(_irq0Edges);
    }

    [Fact]
    public void Mode1_is_a_gate_triggered_one_shot()
    {
        Program(2, 0xB2, 100); // counter 2, mode 1
        AdvanceToTick(50);
        Assert.True(Out2()); // waits for the trigger
        _ports.Out(0x61, 0x01); // gate rising edge at tick 50: load at 51
        AdvanceToTick(51);
        Assert.False(Out2());
        AdvanceToTick(51 + 99);
        Assert.False(Out2());
        AdvanceToTick(51 + 100);
        Assert.True(Out2());

        _ports.Out(0x61, 0x00); // retrigger
        _ports.Out(0x61, 0x01);
        long trigger = Devices.Pit8254.TicksAt(_clock.NowNanoseconds);
        AdvanceToTick(trigger + 1);
        Assert.False(Out2());
    }

    [Fact]
    public void Mode5_strobes_after_a_gate_trigger()
    {
        Program(2, 0xBA, 10); // counter 2, mode 5
        AdvanceToTick(5);
        _ports.Out(0x61, 0x01); // trigger at tick 5, load at 6
        AdvanceToTick(6 + 9);
        Assert.True(Out2());
        AdvanceToTick(6 + 10);
        Assert.False(Out2());
        AdvanceToTick(6 + 11);
        Assert.True(Out2());
    }

    [Fact]
    public void Gate_low_stops_mode2_and_forces_out_high()
    {
        Program(2, 0xB4, 10); // counter 2, mode 2, gate low: waits
        AdvanceToTick(100);
        Assert.Equal(0, ReadCount(2)); // never loaded (CE power-on value)
        _ports.Out(0x61, 0x01); // load at 101
        AdvanceToTick(101 + 3);
        Assert.Equal(7, ReadCount(2));
        _ports.Out(0x61, 0x00);
        AdvanceToTick(200);
        Assert.Equal(7, ReadCount(2));
        Assert.True(Out2());
    }

    [Fact]
    public void Latch_command_freezes_the_count_until_read()
    {
        Program(0, 0x34, 1000);
        AdvanceToTick(300); // loaded at 1: CE = 1000 - 299
        _ports.Out(0x43, 0x00); // latch counter 0
        AdvanceToTick(600);
        _ports.Out(0x43, 0x00); // ignored: the first latch was not read
        Assert.Equal(701, ReadCount(0));
        Assert.Equal(1000 - 599, ReadCount(0));
    }

    [Fact]
    public void Read_back_latches_status_then_count()
    {
        Program(0, 0x34, 1000);
        AdvanceToTick(11);
        _ports.Out(0x43, 0xC2); // read-back: count and status of counter 0
        byte status = _ports.In(0x40);
        Assert.Equal(0x80 | 0x34, status); // OUT high, null count clear, RW=11, mode 2, binary
        Assert.Equal(990, ReadCount(0));

        _ports.Out(0x43, 0x34);
        _ports.Out(0x43, 0xE2); // status only
        Assert.Equal(0x80 | 0x40 | 0x34, _ports.In(0x40)); // null count: no count written since the control word
    }

    [Fact]
    public void Bcd_counts_in_decimal()
    {
        _ports.Out(0x43, 0x35); // mode 2, BCD
        _ports.Out(0x40, 0x00);
        _ports.Out(0x40, 0x01); // 0100 BCD = 100
        AdvanceToTick(1 + 12);
        Assert.Equal(0x88, ReadCount(0)); // 100 - 12 = 88, in BCD
        _clock.RunUntil(Devices.Pit8254.TimeOfTick(1 + 1000));
        Assert.Equal(10, _irq0Edges.Count);
    }

    [Fact]
    public void Lsb_only_and_msb_only_access()
    {
        _ports.Out(0x43, 0x14); // counter 0, LSB only, mode 2
        _ports.Out(0x40, 200);
        AdvanceToTick(11);
        Assert.Equal(190, _ports.In(0x40));
        _ports.Out(0x43, 0x24); // MSB only
        _ports.Out(0x40, 2); // 512
        AdvanceToTick(11 + 1 + 256);
        Assert.Equal(1, _ports.In(0x40)); // 256 left
    }

    [Fact]
    public void Mode2_new_count_takes_effect_at_the_end_of_the_cycle()
    {
        Program(0, 0x34, 100);
        AdvanceToTick(50);
        _ports.Out(0x40, 200 & 0xFF);
        _ports.Out(0x40, 0);
        _clock.RunUntil(Devices.Pit8254.TimeOfTick(1 + 100 + 200 + 200));
        Assert.Equal(
            [Devices.Pit8254.TimeOfTick(101), Devices.Pit8254.TimeOfTick(301), Devices.Pit8254.TimeOfTick(501)],
            _irq0Edges);
    }

    [Fact]
    public void Refresh_bit_toggles_every_15_microseconds()
    {
        byte first = (byte)(_ports.In(0x61) & 0x10);
        AdvanceToTick(17);
        Assert.Equal(first, _ports.In(0x61) & 0x10);
        AdvanceToTick(18);
        Assert.Equal(first ^ 0x10, _ports.In(0x61) & 0x10);
        AdvanceToTick(36);
        Assert.Equal(first, _ports.In(0x61) & 0x10);
    }

    [Fact]
    public void Port61_keeps_the_low_bits_and_speaker_follows_out2()
    {
        _ports.Out(0x61, 0xFF);
        Assert.Equal(0x0F, _ports.In(0x61) & 0xCF);
        Assert.True(_portB.SpeakerDataEnabled);
        Program(2, 0xB6, 1000);
        AdvanceToTick(5);
        Assert.True(_portB.SpeakerLevel);
    }

    [Fact]
    public void Misuse_is_counted()
    {
        _ports.In(0x43);
        Program(0, 0x34, 1);
        _ports.Out(0x43, 0x31); // BCD mode 0
        _ports.Out(0x40, 0xAB);
        _ports.Out(0x40, 0x00);
        Assert.Equal(3, _pit.GuestMisuseCount);
    }

    [Property(MaxTest = 200)]
    public bool State_round_trips(byte[] script)
    {
        foreach (byte[] step in script.Chunk(2))
        {
            byte op = step[0];
            byte value = step.Length > 1 ? step[1] : (byte)0;
            switch (op % 5)
            {
                case 0:
                    _ports.Out((ushort)(0x40 + (op >> 3 & 3)), value);
                    break;
                case 1:
                    _ports.In((ushort)(0x40 + (op >> 3 & 3) % 3));
                    break;
                case 2:
                    _ports.Out(0x61, value);
                    break;
                default:
                    _clock.RunUntil(_clock.NowNanoseconds + (value * 997L));
                    break;
            }
        }

        Pit8254State saved = _pit.SaveState();
        var clock = new VirtualClock();
        clock.RestoreState(_clock.SaveState());
        var other = new Devices.Pit8254(clock, null);
        var port = new SystemControlPortB(clock, other);
        other.RestoreState(saved);
        port.RestoreState(_portB.SaveState());
        Assert.Equal(saved, other.SaveState());
        Assert.Equal(_portB.SaveState(), port.SaveState());
        Assert.Equal(_pit.GetOutput(0), other.GetOutput(0));
        Assert.Equal(_pit.GetOutput(2), other.GetOutput(2));
        return true;
    }

    private bool Out2() => (_ports.In(0x61) & 0x20) != 0;

    private void Program(int counter, byte control, int count)
    {
        _ports.Out(0x43, control);
        _ports.Out((ushort)(0x40 + counter), (byte)count);
        _ports.Out((ushort)(0x40 + counter), (byte)(count >> 8));
    }

    private int ReadCount(int counter)
    {
        byte low = _ports.In((ushort)(0x40 + counter));
        byte high = _ports.In((ushort)(0x40 + counter));
        return low | (high << 8);
    }

    private void AdvanceToTick(long tick) => _clock.RunUntil(Devices.Pit8254.TimeOfTick(tick));
}
