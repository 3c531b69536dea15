using Virt.Devices;

namespace Virt.Devices.Tests.Fakes;

/// <summary>A virtual clock that only moves when a test advances it, firing due timers in deadline order.</summary>
public sealed class ManualClock : IVirtualClock
{
    private readonly List<Timer> _timers = [];
    private long _sequence;

    public long NowNanoseconds { get; private set; }

    public IDeviceTimer CreateTimer(string name, Action callback)
    {
        var timer = new Timer(this, name, callback);
        _timers.Add(timer);
        return timer;
    }

    /// <summary>Advances by <paramref name="nanoseconds"/>, firing every timer due on the way.</summary>
    public void Advance(long nanoseconds) => AdvanceTo(NowNanoseconds + nanoseconds);

    /// <summary>Fires every timer due up to <paramref name="target"/>, then sets the time to it.</summary>
    public void AdvanceTo(long target)
    {
        while (true)
        {
            Timer? next = null;
            foreach (Timer timer in _timers)
            {
                if (timer.IsScheduled && timer.DeadlineNanoseconds <= target &&
                    (next is null || timer.DeadlineNanoseconds < next.DeadlineNanoseconds ||
                     (timer.DeadlineNanoseconds == next.DeadlineNanoseconds && timer.Sequence < next.Sequence)))
                {
                    next = timer;
                }
            }

            if (next is null)
            {
                break;
            }

            NowNanoseconds = Math.Max(NowNanoseconds, next.DeadlineNanoseconds);
            next.Cancel();
            next.Callback();
        }

        NowNanoseconds = Math.Max(NowNanoseconds, target);
    }

    /// <summary>Fires the timers that are due now (deadline in the past or present).</summary>
    public void RunDue() => AdvanceTo(NowNanoseconds);

    /// <summary>The earliest pending deadline, or <see cref="long.MaxValue"/>.</summary>
    public long NextDeadline => _timers.Where(t => t.IsScheduled).Select(t => t.DeadlineNanoseconds).DefaultIfEmpty(long.MaxValue).Min();

    private sealed class Timer(ManualClock clock, string name, Action callback) : IDeviceTimer
    {
        public string Name { get; } = name;

        public Action Callback { get; } = callback;

        public long Sequence { get; private set; }

        public bool IsScheduled { get; private set; }

        public long DeadlineNanoseconds { get; private set; } = long.MaxValue;

        public void ScheduleAt(long deadlineNanoseconds)
        {
            IsScheduled = true;
            DeadlineNanoseconds = deadlineNanoseconds;
            Sequence = ++clock._sequence;
        }

        public void Cancel()
        {
            IsScheduled = false;
            DeadlineNanoseconds = long.MaxValue;
        }
    }
}
