using FsCheck.Xunit;
using Virt.Devices;
using Virt.Devices.Tests.Timing;
using Xunit;

namespace Virt.Devices.Tests.Rtc146818;

public sealed class Rtc146818Tests
{
    private const long Second = 1_000_000_000;

    private readonly VirtualClock _clock = new();
    private readonly InterruptLine _irq8;
    private TimingTestPorts _ports = new();
    private Devices.Rtc146818 _rtc;

    public Rtc146818Tests()
    {
        _irq8 = new InterruptInput("IRQ8", _ => { }).CreateLine("RTC");
        _rtc = Create(new DateTimeOffset(2025, 3, 4, 5, 6, 7, TimeSpan.Zero));
    }

    [Fact]
    public void Shows_the_start_time_in_bcd()
    {
        Assert.Equal(0x07, Read(0x00));
        Assert.Equal(0x06, Read(0x02));
        Assert.Equal(0x05, Read(0x04));
        Assert.Equal(0x03, Read(0x06)); // Tuesday (Sunday = 1)
        Assert.Equal(0x04, Read(0x07));
        Assert.Equal(0x03, Read(0x08));
        Assert.Equal(0x25, Read(0x09));
        Assert.Equal(0x20, Read(0x32));
        Assert.Equal(0x26, Read(0x0A) & 0x7F);
        Assert.Equal(0x02, Read(0x0B));
        Assert.Equal(0x80, Read(0x0D));
    }

    [Fact]
    public void Time_advances_with_the_virtual_clock()
    {
        _clock.RunUntil((3 * Second) + (Second / 2));
        Assert.Equal(0x10, Read(0x00)); // 7 + 3 seconds, BCD
        _clock.RunUntil(3600 * Second);
        Assert.Equal(0x07, Read(0x00));
        Assert.Equal(0x06, Read(0x02));
        Assert.Equal(0x06, Read(0x04));
        Assert.Equal(new DateTime(2025, 3, 4, 6, 6, 7), _rtc.CurrentTime);
    }

    [Fact]
    public void Carries_into_the_next_century()
    {
        _rtc = Create(new DateTimeOffset(2099, 12, 31, 23, 59, 59, TimeSpan.Zero));
        _clock.RunUntil(Second);
        Assert.Equal(new DateTime(2100, 1, 1, 0, 0, 0), _rtc.CurrentTime);
        Assert.Equal(0x00, Read(0x09));
        Assert.Equal(0x21, Read(0x32));
        Assert.Equal(0x06, Read(0x06)); // 1 Jan 2100 is a Friday
    }

    [Fact]
    public void Leap_days_follow_the_gregorian_rule()
    {
        _rtc = Create(new DateTimeOffset(2024, 2, 28, 23, 59, 59, TimeSpan.Zero));
        _clock.RunUntil(Second);
        Assert.Equal(new DateTime(2024, 2, 29, 0, 0, 0), _rtc.CurrentTime);
        _clock.RunUntil(86_401 * Second);
        Assert.Equal(new DateTime(2024, 3, 1, 0, 0, 0), _rtc.CurrentTime);
    }

    [Fact]
    public void Binary_12_hour_mode_rolls_from_11_pm_to_12_am()
    {
        Write(0x0B, 0x80 | 0x04); // SET, binary, 12-hour
        Write(0x00, 59);
        Write(0x02, 59);
        Write(0x04, 0x80 | 11); // 11 PM
        Write(0x07, 31);
        Write(0x08, 12);
        Write(0x09, 24);
        Write(0x0B, 0x04); // run
        _clock.RunUntil(_clock.NowNanoseconds + Second);
        Assert.Equal(0, Read(0x00));
        Assert.Equal(12, Read(0x04)); // 12 AM, PM bit clear
        Assert.Equal(1, Read(0x07));
        Assert.Equal(1, Read(0x08));
        Assert.Equal(25, Read(0x09));
        _clock.RunUntil(_clock.NowNanoseconds + (12 * 3600 * Second));
        Assert.Equal(0x80 | 12, Read(0x04)); // 12 PM
    }

    [Theory]
    [InlineData(1, 128)]
    [InlineData(2, 256)]
    [InlineData(3, 4)]
    [InlineData(4, 8)]
    [InlineData(5, 16)]
    [InlineData(6, 32)]
    [InlineData(7, 64)]
    [InlineData(8, 128)]
    [InlineData(9, 256)]
    [InlineData(10, 512)]
    [InlineData(11, 1024)]
    [InlineData(12, 2048)]
    [InlineData(13, 4096)]
    [InlineData(14, 8192)]
    [InlineData(15, 16384)]
    public void Periodic_interrupt_runs_at_every_rate(int rateSelect, int periodIn32KCycles)
    {
        Write(0x0A, (byte)(0x20 | rateSelect));
        Write(0x0B, 0x02 | 0x40); // PIE
        List<long> times = RunInterruptHandler(Second);

        Assert.Equal(32768 / periodIn32KCycles, times.Count);
        double expectedNs = periodIn32KCycles * 1e9 / 32768;
        for (int i = 1; i < times.Count; i++)
        {
            Assert.InRange(times[i] - times[i - 1], expectedNs - 1, expectedNs + 1);
        }
    }

    [Fact]
    public void Update_ended_interrupt_every_second()
    {
        Write(0x0B, 0x02 | 0x10); // UIE
        List<long> times = RunInterruptHandler(5 * Second);
        Assert.Equal([1 * Second, 2 * Second, 3 * Second, 4 * Second, 5 * Second], times);
    }

    [Fact]
    public void Alarm_interrupt_at_the_alarm_time_and_dont_care_bytes()
    {
        Write(0x01, 0x10); // seconds alarm 10
        Write(0x03, 0x06);
        Write(0x05, 0x05);
        Write(0x0B, 0x02 | 0x20); // AIE
        List<long> times = RunInterruptHandler(10 * Second);
        Assert.Equal([3 * Second], times); // 05:06:07 + 3 s

        Write(0x01, 0xC0);
        Write(0x03, 0xC0);
        Write(0x05, 0xC0);
        times = RunInterruptHandler(3 * Second);
        Assert.Equal(3, times.Count); // every second
    }

    [Fact]
    public void Uip_is_set_for_244_microseconds_before_each_update()
    {
        _clock.RunUntil(Second - 300_000);
        Assert.Equal(0, Read(0x0A) & 0x80);
        _clock.RunUntil(Second - 244_000);
        Assert.Equal(0x80, Read(0x0A) & 0x80);
        Assert.Equal(0x07, Read(0x00)); // the old second until the update
        _clock.RunUntil(Second);
        Assert.Equal(0, Read(0x0A) & 0x80);
        Assert.Equal(0x08, Read(0x00));
    }

    [Fact]
    public void Register_c_read_clears_flags_and_irq()
    {
        Write(0x0B, 0x02 | 0x10);
        _clock.RunUntil(Second);
        Assert.True(_irq8.IsAsserted);
        Assert.Equal(0x80 | 0x40 | 0x10, Read(0x0C)); // IRQF, UF, and PF (rate 6 runs even without PIE)
        Assert.False(_irq8.IsAsserted);
        Assert.Equal(0, Read(0x0C));
    }

    [Fact]
    public void Flags_are_set_without_enables_but_no_interrupt()
    {
        Write(0x0A, 0x26); // 976.5 µs periodic
        _clock.RunUntil(Second);
        Assert.False(_irq8.IsAsserted);
        Assert.Equal(0x40 | 0x10, Read(0x0C)); // PF and UF, no IRQF
        Assert.Equal(0, _clock.ScheduledTimerCount);
    }

    [Fact]
    public void Set_bit_stops_updates_and_divider_reset_restarts_the_phase()
    {
        Write(0x0B, 0x82);
        _clock.RunUntil(5 * Second);
        Assert.Equal(0x07, Read(0x00));
        Write(0x0B, 0x02);
        _clock.RunUntil(6 * Second);
        Assert.Equal(0x08, Read(0x00));

        Write(0x0A, 0x76); // divider reset
        _clock.RunUntil(10 * Second);
        Assert.Equal(0x08, Read(0x00));
        Write(0x0A, 0x26); // first update 500 ms later
        _clock.RunUntil((10 * Second) + (Second / 2) - 1);
        Assert.Equal(0x08, Read(0x00));
        _clock.RunUntil((10 * Second) + (Second / 2));
        Assert.Equal(0x09, Read(0x00));
    }

    [Fact]
    public void Port_70_bit_7_masks_nmi()
    {
        Assert.False(_rtc.NmiMasked);
        _ports.Out(0x70, 0x8F);
        Assert.True(_rtc.NmiMasked);
        _ports.Out(0x71, 0x5A);
        _ports.Out(0x70, 0x0F);
        Assert.False(_rtc.NmiMasked);
        Assert.Equal(0x5A, _ports.In(0x71));
    }

    [Fact]
    public void Memory_and_equipment_fields_as_bioses_read_them()
    {
        _rtc.SetMemorySize(32L << 20, 1L << 30);
        _rtc.SetEquipment(CmosFloppyDriveType.Drive1440K, CmosFloppyDriveType.None);

        Assert.Equal(640, Word(0x15));
        Assert.Equal(31 * 1024, Word(0x17)); // KB above 1 MB
        Assert.Equal(31 * 1024, Word(0x30));
        Assert.Equal((32 - 16) * 16, Word(0x34)); // 64 KB units above 16 MB
        Assert.Equal(16384, Read(0x5B) | (Read(0x5C) << 8) | (Read(0x5D) << 16));
        Assert.Equal(0x40, Read(0x10));
        Assert.Equal(0x03, Read(0x14));
        int sum = 0;
        for (int i = 0x10; i <= 0x2D; i++)
        {
            sum += Read((byte)i);
        }

        Assert.Equal(sum, (Read(0x2E) << 8) | Read(0x2F));

        _rtc.SetMemorySize(4L << 30); // 4 GiB below 4 GB: 17h-18h clamps at 65535 KB
        Assert.Equal(0xFFFF, Word(0x17));
        Assert.Equal((4096 - 16) * 16, Word(0x34));
        Assert.Throws<ArgumentOutOfRangeException>(() => _rtc.WriteCmos(0x0B, 0));
    }

    [Fact]
    public void Reset_clears_enables_and_flags_but_not_time()
    {
        Write(0x0B, 0x02 | 0x70);
        _clock.RunUntil(Second);
        Assert.True(_irq8.IsAsserted);
        _rtc.Reset();
        Assert.False(_irq8.IsAsserted);
        Assert.Equal(0x02, Read(0x0B));
        Assert.Equal(0x08, Read(0x00));
    }

    [Fact]
    public void Misuse_is_counted()
    {
        Write(0x0C, 0xFF);
        Write(0x0D, 0x00);
        Write(0x0A, 0x06); // 4.194304 MHz time base
        Assert.Equal(3, _rtc.GuestMisuseCount);
        Assert.Equal(0x80, Read(0x0D));
    }

    [Property(MaxTest = 200)]
    public bool State_round_trips(byte[] script)
    {
        foreach (byte[] step in script.Chunk(2))
        {
            byte op = step[0];
            byte value = step.Length > 1 ? step[1] : (byte)0;
            switch (op % 4)
            {
                case 0:
                    _ports.Out(0x70, value);
                    break;
                case 1:
                    _ports.Out(0x71, value);
                    break;
                case 2:
                    _ports.In(0x71);
                    break;
                default:
                    _clock.RunUntil(_clock.NowNanoseconds + (value * 7_777_777L));
                    break;
            }
        }

        Rtc146818State saved = _rtc.SaveState();
        var clock = new VirtualClock();
        clock.RestoreState(_clock.SaveState());
        var other = new Devices.Rtc146818(clock, null);
        other.RestoreState(saved);
        Assert.Equal(saved, other.SaveState());
        Assert.Equal(saved.GetHashCode(), other.SaveState().GetHashCode());
        return true;
    }

    private Devices.Rtc146818 Create(DateTimeOffset start)
    {
        var rtc = new Devices.Rtc146818(_clock, _irq8, new Rtc146818Options { StartTime = start });
        _ports = new TimingTestPorts().Add(rtc);
        return rtc;
    }

    private List<long> RunInterruptHandler(long duration)
    {
        // A guest handler: on IRQ 8, read register C (which lowers the line).
        var times = new List<long>();
        long end = _clock.NowNanoseconds + duration;
        while (_clock.NextDeadlineNanoseconds <= end)
        {
            _clock.RunUntil(_clock.NextDeadlineNanoseconds);
            if (_irq8.IsAsserted)
            {
                times.Add(_clock.NowNanoseconds);
                Read(0x0C);
            }
        }

        _clock.RunUntil(end);
        return times;
    }

    private int Word(byte index) => Read(index) | (Read((byte)(index + 1)) << 8);

    private byte Read(byte index)
    {
        _ports.Out(0x70, index);
        return _ports.In(0x71);
    }

    private void Write(byte index, byte value)
    {
        _ports.Out(0x70, index);
        _ports.Out(0x71, value);
    }
}
