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
    public void Slew_never_moves_guest_time_it_sets_how_fast_the_instructions_advance_it()
    {
        var host = new ManualTimeProvider();
        var clock = new VirtualClock(new VirtualClockOptions { Mode = VirtualClockMode.RealTime, TimeProvider = host, InstructionsPerMicrosecond = 1 });

        // The host moves 10 ms while the CPU runs nothing (a host stall): guest time does not jump.
        host.Advance(TimeSpan.FromMilliseconds(10));
        clock.SlewTowardHost();
        Assert.Equal(0, clock.NowNanoseconds);
        Assert.Equal(1 + VirtualClock.SlewCatchUpFactor, clock.TimeRateMultiplier);

        // 100 instructions take 100 µs of guest time at the nominal rate; while catching up, 4 times that.
        clock.AdvanceByInstructions(100);
        Assert.Equal(100_000 * (1 + VirtualClock.SlewCatchUpFactor), clock.NowNanoseconds);

        // Level with the host again: the nominal rate.
        clock.ResynchronizeHost();
        Assert.Equal(1, clock.TimeRateMultiplier);
        clock.SlewTowardHost();
        Assert.Equal(1, clock.TimeRateMultiplier);
    }

    [Theory]
    [InlineData(0, 1)]
    [InlineData(1, 2)]
    [InlineData(VirtualClock.SlewRampNanoseconds, 2)]
    [InlineData(VirtualClock.SlewRampNanoseconds + 100, 3)]
    [InlineData((2 * VirtualClock.SlewRampNanoseconds) + 100, 4)]
    [InlineData(VirtualClock.MaxSlewLagNanoseconds, 4)]
    public void The_rate_multiplier_grows_by_one_per_started_ramp_of_lag_up_to_the_factor(long lagNanoseconds, long expectedMultiplier)
    {
        // Expected from the definition: 1 + min(factor, ceil(lag / ramp)). The host's resolution is 100 ns (a tick).
        var host = new ManualTimeProvider();
        var clock = new VirtualClock(new VirtualClockOptions { Mode = VirtualClockMode.RealTime, TimeProvider = host });
        host.Advance(TimeSpan.FromTicks((lagNanoseconds + 99) / 100));
        clock.SlewTowardHost();
        Assert.Equal(expectedMultiplier, clock.TimeRateMultiplier);
    }

    [Fact]
    public void A_cpu_at_half_the_nominal_speed_catches_up_and_then_stays_close_to_the_host()
    {
        // Each round the host moves 1 ms and the CPU retires 500 instructions (500 µs at the nominal rate).
        var host = new ManualTimeProvider();
        var clock = new VirtualClock(new VirtualClockOptions { Mode = VirtualClockMode.RealTime, TimeProvider = host, InstructionsPerMicrosecond = 1 });
        host.Advance(TimeSpan.FromMilliseconds(10));
        long hostNanoseconds = 10_000_000;
        for (int round = 0; round < 100; round++)
        {
            clock.SlewTowardHost();
            long before = clock.NowNanoseconds;
            host.Advance(TimeSpan.FromMilliseconds(1));
            hostNanoseconds += 1_000_000;
            clock.AdvanceByInstructions(500);
            Assert.Equal(500_000 * clock.TimeRateMultiplier, clock.NowNanoseconds - before);
            if (round >= 20)
            {
                Assert.InRange(hostNanoseconds - clock.NowNanoseconds, 0, VirtualClock.SlewRampNanoseconds);
            }
        }

        Assert.Equal(0, clock.ForgivenLagNanoseconds);
    }

    [Fact]
    public void A_lag_beyond_the_window_is_forgiven_never_stepped()
    {
        var host = new ManualTimeProvider();
        var clock = new VirtualClock(new VirtualClockOptions { Mode = VirtualClockMode.RealTime, TimeProvider = host });
        host.Advance(TimeSpan.FromMilliseconds(200));
        clock.SlewTowardHost();
        Assert.Equal(0, clock.NowNanoseconds);
        Assert.Equal(200_000_000 - VirtualClock.MaxSlewLagNanoseconds, clock.ForgivenLagNanoseconds);

        // What is left of the lag is exactly the window: the host is that far ahead of guest time.
        Assert.Equal(TimeSpan.Zero, clock.GetHostDelayUntil(VirtualClock.MaxSlewLagNanoseconds));
        Assert.Equal(TimeSpan.FromMicroseconds(1), clock.GetHostDelayUntil(VirtualClock.MaxSlewLagNanoseconds + 1_000));

        // After an idle wait with nothing scheduled the run loop catches up at once with what is left.
        clock.SynchronizeWithHost();
        Assert.Equal(VirtualClock.MaxSlewLagNanoseconds, clock.NowNanoseconds);
    }

    [Fact]
    public void Synchronizing_after_an_idle_wait_stops_at_the_next_deadline()
    {
        // The host woke 10 ms later but a timer was due after 3 ms: time goes to the deadline, the callback runs there,
        // and only then on to the host (so a periodic timer's interrupts are delivered one by one, not merged).
        var host = new ManualTimeProvider();
        var clock = new VirtualClock(new VirtualClockOptions { Mode = VirtualClockMode.RealTime, TimeProvider = host });
        var seen = new List<long>();
        IDeviceTimer timer = clock.CreateTimer("t", () => seen.Add(clock.NowNanoseconds));
        timer.ScheduleAt(3_000_000);
        host.Advance(TimeSpan.FromMilliseconds(10));
        clock.SynchronizeWithHost(clock.NextDeadlineNanoseconds);
        Assert.Equal(3_000_000, clock.NowNanoseconds);
        Assert.Equal(1, clock.RunDueEvents());
        clock.SynchronizeWithHost(clock.NextDeadlineNanoseconds);
        Assert.Equal(10_000_000, clock.NowNanoseconds);
        Assert.Equal([3_000_000], seen);
    }

    [Fact]
    public void Real_time_guest_time_is_a_function_of_the_instructions_alone_however_the_host_moves()
    {
        // An irregular host (stalls up to 80 ms) and an irregular CPU, from a fixed seed. Slices as a run loop makes them:
        // SlewTowardHost, then instructions in several pieces (port I/O and RDTSC in the middle of a slice). Every piece
        // advances guest time by exactly its instructions at the slice's multiplier (computed here from the definition,
        // remainder carried); the host never shows through. Guest time lags by at most the window, leads by at most the
        // lead bound, and host time = guest time + lag + forgiven lag.
        var host = new ManualTimeProvider();
        const int rate = 7;
        const long LeadNanoseconds = 10_000_000;
        var clock = new VirtualClock(new VirtualClockOptions
        {
            Mode = VirtualClockMode.RealTime,
            TimeProvider = host,
            InstructionsPerMicrosecond = rate,
            MaxLeadOverHost = TimeSpan.FromTicks(LeadNanoseconds / 100),
        });
        var random = new Random(12);
        long hostNanoseconds = 0;
        long remainder = 0;
        long expectedNow = 0;
        var multipliersSeen = new HashSet<long>();
        for (int slice = 0; slice < 5_000; slice++)
        {
            clock.SlewTowardHost();
            Assert.Equal(expectedNow, clock.NowNanoseconds);
            long lag = hostNanoseconds - clock.ForgivenLagNanoseconds - clock.NowNanoseconds;
            Assert.True(lag <= VirtualClock.MaxSlewLagNanoseconds);
            long multiplier = clock.TimeRateMultiplier;
            Assert.Equal(lag <= 0 ? 1 : 1 + Math.Min(VirtualClock.SlewCatchUpFactor, (lag + VirtualClock.SlewRampNanoseconds - 1) / VirtualClock.SlewRampNanoseconds), multiplier);
            multipliersSeen.Add(multiplier);
            int pieces = 1 + random.Next(4);
            for (int piece = 0; piece < pieces; piece++)
            {
                long hostStep = random.Next(50) == 0 ? random.Next(80_000_000) : random.Next(1_000_000);
                host.Advance(TimeSpan.FromTicks(hostStep / 100));
                hostNanoseconds += hostStep / 100 * 100;
                long instructions = random.Next(3_000);
                long total = remainder + (instructions * 1000 * multiplier);
                remainder = total % rate;
                long leadLimit = hostNanoseconds - clock.ForgivenLagNanoseconds + LeadNanoseconds;
                expectedNow = Math.Max(expectedNow, Math.Min(expectedNow + (total / rate), leadLimit));
                clock.AdvanceByInstructions(instructions);
                Assert.Equal(expectedNow, clock.NowNanoseconds);
            }
        }

        Assert.Equal(4, multipliersSeen.Count);
        Assert.True(clock.ForgivenLagNanoseconds > 0);
    }

    [Fact]
    public void A_slice_sized_at_the_current_rate_ends_exactly_on_the_deadline()
    {
        // For lags giving every multiplier and several rates: the budget InstructionsUntilNextEvent gives reaches the
        // deadline, and one instruction fewer does not.
        foreach (int rate in new[] { 1, 7, 13, 100 })
        {
            foreach (long lagMilliseconds in new long[] { 0, 1, 2, 3, 40 })
            {
                foreach (long deadline in new long[] { 1_001, 1_999, 1_000_001, 3_333_333 })
                {
                    (VirtualClock full, _) = CreateLaggingClock(rate, lagMilliseconds);
                    (VirtualClock short_, _) = CreateLaggingClock(rate, lagMilliseconds);
                    full.CreateTimer("t", () => { }).ScheduleAt(deadline);
                    short_.CreateTimer("t", () => { }).ScheduleAt(deadline);
                    long budget = full.InstructionsUntilNextEvent(long.MaxValue / 4);
                    Assert.Equal(budget, short_.InstructionsUntilNextEvent(long.MaxValue / 4));
                    full.AdvanceByInstructions(budget);
                    short_.AdvanceByInstructions(budget - 1);
                    Assert.True(full.HasDueEvents, $"rate {rate}, lag {lagMilliseconds} ms, deadline {deadline}");
                    Assert.False(short_.HasDueEvents, $"rate {rate}, lag {lagMilliseconds} ms, deadline {deadline}");
                    Assert.Equal(Math.Min(1 + VirtualClock.SlewCatchUpFactor, 1 + lagMilliseconds), full.TimeRateMultiplier);
                }
            }
        }
    }

    [Fact]
    public void Slew_does_nothing_in_deterministic_mode()
    {
        var clock = new VirtualClock();
        clock.AdvanceByInstructions(1_000);
        clock.SlewTowardHost();
        Assert.Equal(10_000, clock.NowNanoseconds);
        Assert.Equal(1, clock.TimeRateMultiplier);
        clock.SynchronizeWithHost(long.MaxValue);
        Assert.Equal(10_000, clock.NowNanoseconds);
    }

    /// <summary>A real-time clock after 1 µs of guest time whose host is <paramref name="lagMilliseconds"/> ahead, slewed.</summary>
    private static (VirtualClock Clock, ManualTimeProvider Host) CreateLaggingClock(int rate, long lagMilliseconds)
    {
        var host = new ManualTimeProvider();
        var clock = new VirtualClock(new VirtualClockOptions { Mode = VirtualClockMode.RealTime, TimeProvider = host, InstructionsPerMicrosecond = rate });
        host.Advance(TimeSpan.FromMicroseconds(1));
        clock.AdvanceByInstructions(rate); // 1 µs: leaves no remainder
        host.Advance(TimeSpan.FromMilliseconds(lagMilliseconds));
        clock.SlewTowardHost();
        return (clock, host);
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
