using Virt.Devices;
using Xunit;

namespace Virt.Devices.Tests.Timing;

/// <summary>Guest time stays far enough from overflow that deadline sums (now + period) cannot wrap into the past.</summary>
public sealed class VirtualClockLimitTests
{
    [Theory]
    [InlineData(long.MaxValue)]
    [InlineData(long.MaxValue - 1_000_000)]
    [InlineData(VirtualClock.MaxNanoseconds + 1)]
    [InlineData(-1L)]
    public void RestoreRefusesATimeOutsideTheRangeAndChangesNothing(long now)
    {
        var clock = new VirtualClock();
        IDeviceTimer timer = clock.CreateTimer("t", () => { });
        clock.AdvanceTo(1234);
        timer.ScheduleAt(5000);
        VirtualClockState before = clock.SaveState();

        var e = Assert.Throws<ArgumentException>(() => clock.RestoreState(new VirtualClockState(VirtualClockState.CurrentVersion, now, 0)));
        Assert.Contains("NowNanoseconds", e.Message, StringComparison.Ordinal);
        Assert.Equal(before, clock.SaveState());
        Assert.True(timer.IsScheduled); // the refused restore did not cancel the timers either
    }

    [Fact]
    public void RestoreAcceptsTheLatestTime()
    {
        var clock = new VirtualClock();
        clock.RestoreState(new VirtualClockState(VirtualClockState.CurrentVersion, VirtualClock.MaxNanoseconds, 0));
        Assert.Equal(VirtualClock.MaxNanoseconds, clock.NowNanoseconds);
    }

    [Fact]
    public void RestoreRefusesARemainderFromAClockWithAnotherRateNamingTheField()
    {
        var clock = new VirtualClock(new VirtualClockOptions { InstructionsPerMicrosecond = 100 });
        var e = Assert.Throws<ArgumentException>(() => clock.RestoreState(new VirtualClockState(VirtualClockState.CurrentVersion, 0, 300)));
        Assert.Contains("InstructionRemainder", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TimeStopsAtTheLatestTime()
    {
        var clock = new VirtualClock(new VirtualClockOptions { InstructionsPerMicrosecond = 1 });
        clock.AdvanceTo(long.MaxValue);
        Assert.Equal(VirtualClock.MaxNanoseconds, clock.NowNanoseconds);

        clock.AdvanceByInstructions(1_000_000);
        Assert.Equal(VirtualClock.MaxNanoseconds, clock.NowNanoseconds);

        // A deadline beyond the end is never due, however far RunUntil is asked to go.
        int fired = 0;
        clock.CreateTimer("late", () => fired++).ScheduleAt(VirtualClock.MaxNanoseconds + 1);
        clock.RunUntil(long.MaxValue);
        Assert.Equal(0, fired);
    }

    [Fact]
    public void HostDelayToAFarDeadlineDoesNotWrapToThePast()
    {
        // (delta + 99) / 100 overflowed for a deadline near long.MaxValue, giving a negative ("already passed") delay.
        var clock = new VirtualClock(new VirtualClockOptions { Mode = VirtualClockMode.RealTime, TimeProvider = new ManualTimeProvider() });
        Assert.True(clock.GetHostDelayUntil(long.MaxValue - 1) > TimeSpan.FromDays(365));
        Assert.Equal(TimeSpan.FromTicks(1), clock.GetHostDelayUntil(1));
    }

    [Fact]
    public void InstructionsUntilATimeAccountForTheRemainder()
    {
        // 3 instructions per µs: 333.33 ns each. From a remainder of 2/3 ns, 1000 ns take 3 instructions
        // (3 × 1000 / 3 = 1000 ns, plus 2/3 carried: not yet 1001).
        var clock = new VirtualClock(new VirtualClockOptions { InstructionsPerMicrosecond = 3 });
        clock.AdvanceByInstructions(2); // 666 ns, remainder 2/3
        long target = clock.NowNanoseconds + 1000;
        long count = clock.InstructionsUntil(target, long.MaxValue);
        clock.AdvanceByInstructions(count - 1);
        Assert.True(clock.NowNanoseconds < target);
        clock.AdvanceByInstructions(1);
        Assert.True(clock.NowNanoseconds >= target);
        Assert.Equal(0, clock.InstructionsUntil(target, 10));
        Assert.Equal(7, clock.InstructionsUntil(target + 1_000_000, 7));
    }
}
