using FsCheck.Xunit;
using Virt.Devices;
using Virt.Devices.Tests.Timing;
using Xunit;

namespace Virt.Devices.Tests.Rtc146818;

public sealed class Rtc146818PropertyTests
{
    /// <summary>The BCD registers against <see cref="DateTime"/> arithmetic, stepping in irregular jumps.</summary>
    [Property(MaxTest = 200)]
    public bool Bcd_registers_follow_elapsed_time(uint startSeconds, ushort[] jumps)
    {
        var start = new DateTime(2000, 1, 1).AddSeconds(startSeconds % (100L * 365 * 86400));
        var clock = new VirtualClock();
        var rtc = new Devices.Rtc146818(clock, null, new Rtc146818Options { StartTime = new DateTimeOffset(start, TimeSpan.Zero) });
        TimingTestPorts ports = new TimingTestPorts().Add(rtc);
        long now = 0;
        foreach (ushort jump in jumps)
        {
            now += jump * 37_000_000L; // up to ~40 minutes, not aligned to seconds
            clock.RunUntil(now);
            DateTime expected = start.AddSeconds(now / 1_000_000_000);
            Assert.Equal(Bcd(expected.Second), Read(ports, 0x00));
            Assert.Equal(Bcd(expected.Minute), Read(ports, 0x02));
            Assert.Equal(Bcd(expected.Hour), Read(ports, 0x04));
            Assert.Equal(Bcd((int)expected.DayOfWeek + 1), Read(ports, 0x06));
            Assert.Equal(Bcd(expected.Day), Read(ports, 0x07));
            Assert.Equal(Bcd(expected.Month), Read(ports, 0x08));
            Assert.Equal(Bcd(expected.Year % 100), Read(ports, 0x09));
            Assert.Equal(Bcd(expected.Year / 100), Read(ports, 0x32));
        }

        return true;
    }

    /// <summary><see cref="Devices.Rtc146818.AdvanceCalendar"/> moves the date by exactly the seconds given, and the clock keeps its pace afterwards.</summary>
    [Property(MaxTest = 200)]
    public bool AdvanceCalendar_moves_the_date_by_the_seconds_given(uint startSeconds, uint offsetSeconds, ushort before, ushort after)
    {
        var start = new DateTime(2000, 1, 1).AddSeconds(startSeconds % (100L * 365 * 86400));
        var clock = new VirtualClock();
        var rtc = new Devices.Rtc146818(clock, null, new Rtc146818Options { StartTime = new DateTimeOffset(start, TimeSpan.Zero) });
        TimingTestPorts ports = new TimingTestPorts().Add(rtc);
        long now = before * 37_000_000L;
        clock.RunUntil(now);
        Assert.True(rtc.AdvanceCalendar(offsetSeconds));
        now += after * 37_000_000L;
        clock.RunUntil(now);
        DateTime expected = start.AddSeconds(offsetSeconds + (now / 1_000_000_000));
        Assert.Equal(expected, rtc.CurrentTime);
        Assert.Equal(Bcd(expected.Second), Read(ports, 0x00));
        Assert.Equal(Bcd(expected.Hour), Read(ports, 0x04));
        Assert.Equal(Bcd(expected.Day), Read(ports, 0x07));
        return true;
    }

    private static byte Bcd(int value) => (byte)(((value / 10) << 4) | (value % 10));

    private static byte Read(TimingTestPorts ports, byte index)
    {
        ports.Out(0x70, index);
        return ports.In(0x71);
    }
}
