using FsCheck.Xunit;
using Virt.Devices;
using Xunit;

namespace Virt.Devices.Tests.Timing;

public sealed class VirtualClockPropertyTests
{
    /// <summary>The heap against a reference: a sort of the live deadlines by (deadline, creation order).</summary>
    [Property(MaxTest = 300)]
    public bool Events_fire_in_the_order_of_a_stable_sort(byte[] script)
    {
        var clock = new VirtualClock();
        var fired = new List<int>();
        var timers = new IDeviceTimer[8];
        var deadlines = new long?[8];
        for (int i = 0; i < timers.Length; i++)
        {
            int index = i;
            timers[i] = clock.CreateTimer("t" + i, () => fired.Add(index));
        }

        foreach (byte[] step in script.Chunk(2))
        {
            int index = step[0] % 8;
            if (step.Length > 1 && step[1] % 5 == 0)
            {
                timers[index].Cancel();
                deadlines[index] = null;
            }
            else
            {
                long deadline = (step.Length > 1 ? step[1] : 0) % 16;
                timers[index].ScheduleAt(deadline);
                deadlines[index] = deadline;
            }
        }

        List<int> expected = Enumerable.Range(0, 8)
            .Where(i => deadlines[i] is not null)
            .OrderBy(i => deadlines[i])
            .ThenBy(i => i)
            .ToList();
        clock.RunUntil(100);
        Assert.Equal(expected, fired);
        Assert.Equal(0, clock.ScheduledTimerCount);
        return true;
    }

    [Property(MaxTest = 200)]
    public bool State_round_trips(ushort rate, uint[] batches)
    {
        var options = new VirtualClockOptions { InstructionsPerMicrosecond = 1 + (rate % 1000) };
        var clock = new VirtualClock(options);
        foreach (uint batch in batches)
        {
            clock.AdvanceByInstructions(batch);
        }

        VirtualClockState saved = clock.SaveState();
        var other = new VirtualClock(options);
        other.RestoreState(saved);
        Assert.Equal(saved, other.SaveState());

        // Batching does not matter: one batch of the total lands on the same time.
        var single = new VirtualClock(options);
        single.AdvanceByInstructions(batches.Sum(b => (long)b));
        Assert.Equal(saved, single.SaveState());
        return true;
    }
}
