using Virt.Devices;
using Xunit;

namespace Virt.Devices.Tests.Timing;

public sealed class VirtualClockTests
{
    [Fact]
    public void Events_fire_in_deadline_order_with_ties_in_creation_order()
    {
        var clock = new VirtualClock();
        var log = new List<string>();
        IDeviceTimer a = clock.CreateTimer("a", () => log.Add("a"));
        IDeviceTimer b = clock.CreateTimer("b", () => log.Add("b"));
        IDeviceTimer c = clock.CreateTimer("c", () => log.Add("c"));
        c.ScheduleAt(100);
        b.ScheduleAt(50);
        a.ScheduleAt(100);

        clock.AdvanceTo(1000);
        Assert.Equal(3, clock.RunDueEvents());

        Assert.Equal(["b", "a", "c"], log);
        Assert.False(a.IsScheduled);
        Assert.Equal(long.MaxValue, a.DeadlineNanoseconds);
    }

    [Fact]
    public void Nothing_is_due_before_the_deadline()
    {
        var clock = new VirtualClock();
        int fired = 0;
        IDeviceTimer timer = clock.CreateTimer("t", () => fired++);
        timer.ScheduleAt(500);

        clock.AdvanceTo(499);
        Assert.Equal(1, clock.NanosecondsUntilNextEvent);
        Assert.False(clock.HasDueEvents);
        Assert.Equal(0, clock.RunDueEvents());
        clock.AdvanceTo(500);
        Assert.True(clock.HasDueEvents);
        Assert.Equal(1, clock.RunDueEvents());
        Assert.Equal(1, fired);
    }

    [Fact]
    public void Rescheduling_replaces_the_deadline_and_cancel_removes_it()
    {
        var clock = new VirtualClock();
        int fired = 0;
        IDeviceTimer timer = clock.CreateTimer("t", () => fired++);
        timer.ScheduleAt(100);
        timer.ScheduleAt(300);
        Assert.Equal(300, clock.NextDeadlineNanoseconds);
        timer.ScheduleAt(200);
        Assert.Equal(200, clock.NextDeadlineNanoseconds);
        timer.Cancel();
        Assert.Equal(long.MaxValue, clock.NextDeadlineNanoseconds);
        clock.RunUntil(1000);
        Assert.Equal(0, fired);
    }

    [Fact]
    public void Instructions_advance_time_at_the_configured_rate_without_drift()
    {
        // 3 instructions per microsecond: one instruction is 333.33 ns; 3 batches of 1 make exactly 1 µs.
        var clock = new VirtualClock(new VirtualClockOptions { InstructionsPerMicrosecond = 3 });
        clock.AdvanceByInstructions(1);
        Assert.Equal(333, clock.NowNanoseconds);
        clock.AdvanceByInstructions(1);
        Assert.Equal(666, clock.NowNanoseconds);
        clock.AdvanceByInstructions(1);
        Assert.Equal(1000, clock.NowNanoseconds);
        clock.AdvanceByInstructions(3_000_000);
        Assert.Equal(1_000_001_000, clock.NowNanoseconds);
    }

    [Theory]
    [InlineData(1, 1234)]
    [InlineData(3, 1000)]
    [InlineData(7, 999_999)]
    [InlineData(100, 5)]
    [InlineData(1000, 1)]
    public void InstructionsUntilNextEvent_reaches_the_deadline_exactly(long rate, long deadline)
    {
        var clock = new VirtualClock(new VirtualClockOptions { InstructionsPerMicrosecond = rate });
        clock.AdvanceByInstructions(1); // leave a remainder
        IDeviceTimer timer = clock.CreateTimer("t", () => { });
        timer.ScheduleAt(clock.NowNanoseconds + deadline);

        long budget = clock.InstructionsUntilNextEvent(long.MaxValue / 4);
        Assert.True(budget >= 1);
        if (budget > 1)
        {
            // One instruction fewer must not reach the deadline.
            VirtualClockState saved = clock.SaveState();
            var probe = new VirtualClock(new VirtualClockOptions { InstructionsPerMicrosecond = rate });
            probe.RestoreState(saved);
            probe.AdvanceByInstructions(budget - 1);
            Assert.True(probe.NowNanoseconds < timer.DeadlineNanoseconds);
        }

        clock.AdvanceByInstructions(budget);
        Assert.True(clock.HasDueEvents);
    }

    [Fact]
    public void InstructionsUntilNextEvent_is_capped_and_zero_when_due()
    {
        var clock = new VirtualClock();
        Assert.Equal(500, clock.InstructionsUntilNextEvent(500));
        IDeviceTimer timer = clock.CreateTimer("t", () => { });
        timer.ScheduleAt(0);
        Assert.Equal(0, clock.InstructionsUntilNextEvent(500));
    }

    [Fact]
    public void Callbacks_may_reschedule_and_run_in_the_same_batch()
    {
        var clock = new VirtualClock();
        var times = new List<long>();
        IDeviceTimer? timer = null;
        timer = clock.CreateTimer("periodic", () =>
        {
            times.Add(clock.NowNanoseconds);
            timer!.ScheduleAt(timer.DeadlineNanoseconds == long.MaxValue ? clock.NowNanoseconds + 100 : 0);
        });
        timer.ScheduleAt(100);
        clock.RunUntil(450);
        Assert.Equal([100, 200, 300, 400], times);
        Assert.Equal(450, clock.NowNanoseconds);
    }

    [Fact]
    public void Same_schedule_gives_the_same_event_sequence_on_two_runs()
    {
        Assert.Equal(RunScenario(), RunScenario());
    }

    [Fact]
    public void Restore_sets_time_and_cancels_timers()
    {
        var clock = new VirtualClock(new VirtualClockOptions { InstructionsPerMicrosecond = 7 });
        clock.AdvanceByInstructions(12345);
        VirtualClockState saved = clock.SaveState();
        IDeviceTimer timer = clock.CreateTimer("t", () => { });
        timer.ScheduleAt(1_000_000_000);

        var other = new VirtualClock(new VirtualClockOptions { InstructionsPerMicrosecond = 7 });
        other.RestoreState(saved);
        Assert.Equal(saved, other.SaveState());

        clock.RestoreState(saved);
        Assert.False(timer.IsScheduled);
        Assert.Throws<ArgumentException>(() => clock.RestoreState(saved with { Version = 99 }));
        Assert.Throws<ArgumentException>(() => clock.RestoreState(saved with { InstructionRemainder = 7 }));
    }

    [Fact]
    public void Real_time_mode_follows_the_host_and_never_leads_by_more_than_the_bound()
    {
        var host = new ManualTimeProvider();
        var clock = new VirtualClock(new VirtualClockOptions
        {
            Mode = VirtualClockMode.RealTime,
            TimeProvider = host,
            MaxLeadOverHost = TimeSpan.FromMilliseconds(1),
            InstructionsPerMicrosecond = 1,
        });

        // The guest runs "too fast": time stops at host + 1 ms.
        clock.AdvanceByInstructions(5_000);
        Assert.Equal(1_000_000, clock.NowNanoseconds);
        Assert.Equal(0, clock.InstructionsUntilNextEvent(1_000));
        Assert.Equal(TimeSpan.FromMilliseconds(1), clock.GetHostWaitTime());

        // The host moves on 3 ms; the guest catches up.
        host.Advance(TimeSpan.FromMilliseconds(3));
        Assert.Equal(TimeSpan.Zero, clock.GetHostWaitTime());
        clock.SynchronizeWithHost();
        Assert.Equal(3_000_000, clock.NowNanoseconds);

        IDeviceTimer timer = clock.CreateTimer("t", () => { });
        timer.ScheduleAt(3_500_000);
        Assert.Equal(TimeSpan.FromMicroseconds(500), clock.GetHostDelayUntil(timer.DeadlineNanoseconds));
        Assert.Equal(500, clock.InstructionsUntilNextEvent(100_000));
    }

    [Fact]
    public void Slew_catches_up_with_the_host_in_proportion_to_the_instructions_run_never_by_a_step()
    {
        var host = new ManualTimeProvider();
        var clock = new VirtualClock(new VirtualClockOptions { Mode = VirtualClockMode.RealTime, TimeProvider = host, InstructionsPerMicrosecond = 1 });

        // The host moves 10 ms while the CPU runs nothing (a host stall): guest time does not jump.
        host.Advance(TimeSpan.FromMilliseconds(10));
        clock.SlewTowardHost();
        Assert.Equal(0, clock.NowNanoseconds);

        // 100 instructions take 100 µs of guest time; the slew adds at most 3 times that: 400 µs in all.
        clock.AdvanceByInstructions(100);
        clock.SlewTowardHost();
        Assert.Equal(100_000 * (1 + VirtualClock.SlewCatchUpFactor), clock.NowNanoseconds);

        // A CPU at half the host's speed (500 µs of instructions per host millisecond) still catches up, each step at
        // most 4 times its instruction time, and then follows the host exactly.
        for (int round = 0; round < 20; round++)
        {
            long before = clock.NowNanoseconds;
            host.Advance(TimeSpan.FromMilliseconds(1));
            clock.AdvanceByInstructions(500);
            clock.SlewTowardHost();
            long advance = clock.NowNanoseconds - before;
            Assert.InRange(advance, 500_000, 500_000 * (1 + VirtualClock.SlewCatchUpFactor));
        }

        Assert.Equal(30_000_000, clock.NowNanoseconds); // 10 ms + 20 x 1 ms of host time: caught up
    }

    [Fact]
    public void Slew_steps_only_the_lag_beyond_its_window()
    {
        var host = new ManualTimeProvider();
        var clock = new VirtualClock(new VirtualClockOptions { Mode = VirtualClockMode.RealTime, TimeProvider = host });
        host.Advance(TimeSpan.FromMilliseconds(200));
        clock.SlewTowardHost();
        Assert.Equal(200_000_000 - VirtualClock.MaxSlewLagNanoseconds, clock.NowNanoseconds);

        // After an idle wait the run loop steps on purpose: SynchronizeWithHost still catches up at once.
        clock.SynchronizeWithHost();
        Assert.Equal(200_000_000, clock.NowNanoseconds);
    }

    [Fact]
    public void Slew_keeps_guest_time_monotonic_bounded_and_locally_proportional_to_instructions()
    {
        // An irregular host (stalls up to 80 ms) and an irregular CPU, from a fixed seed: after every call guest time has
        // not gone back, lags the host by at most the window, leads it by at most the lead bound, and moved by at most
        // (1 + factor) x the instruction time unless it stepped to exactly the window's edge.
        var host = new ManualTimeProvider();
        var clock = new VirtualClock(new VirtualClockOptions { Mode = VirtualClockMode.RealTime, TimeProvider = host, InstructionsPerMicrosecond = 10 });
        var random = new Random(12);
        long hostNanoseconds = 0;
        for (int i = 0; i < 10_000; i++)
        {
            long hostStep = random.Next(4) == 0 ? random.Next(80_000_000) : random.Next(200_000);
            host.Advance(TimeSpan.FromTicks(hostStep / 100));
            hostNanoseconds += hostStep / 100 * 100;
            long before = clock.NowNanoseconds;
            clock.AdvanceByInstructions(random.Next(5_000));
            long instructionTime = clock.NowNanoseconds - before;
            long afterInstructions = clock.NowNanoseconds;
            clock.SlewTowardHost();
            long now = clock.NowNanoseconds;
            Assert.True(now >= afterInstructions);
            Assert.True(hostNanoseconds - now <= VirtualClock.MaxSlewLagNanoseconds);
            Assert.True(now - hostNanoseconds <= 10_000_000);
            Assert.True(now - afterInstructions <= instructionTime * VirtualClock.SlewCatchUpFactor || now == hostNanoseconds - VirtualClock.MaxSlewLagNanoseconds);
        }
    }

    [Fact]
    public void Slew_does_nothing_in_deterministic_mode()
    {
        var clock = new VirtualClock();
        clock.AdvanceByInstructions(1_000);
        clock.SlewTowardHost();
        Assert.Equal(10_000, clock.NowNanoseconds);
    }

    private static List<(long Time, string Name)> RunScenario()
    {
        var clock = new VirtualClock(new VirtualClockOptions { InstructionsPerMicrosecond = 13 });
        var events = new List<(long, string)>();
        var timers = new IDeviceTimer[5];
        for (int i = 0; i < timers.Length; i++)
        {
            int period = 1000 + (i * 337);
            string name = "timer" + i;
            int index = i;
            timers[i] = clock.CreateTimer(name, () =>
            {
                events.Add((clock.NowNanoseconds, name));
                timers[index].ScheduleAt(timers[index].DeadlineNanoseconds == long.MaxValue ? clock.NowNanoseconds + period : 0);
            });
            timers[i].ScheduleAt(period);
        }

        // A run loop with an irregular CPU: it retires a varying part of each budget.
        int slice = 0;
        while (clock.NowNanoseconds < 50_000)
        {
            long budget = clock.InstructionsUntilNextEvent(97);
            long retired = budget == 0 ? 0 : 1 + (slice++ * 31 % budget);
            clock.AdvanceByInstructions(retired);
            clock.RunDueEvents();
        }

        return events;
    }
}
