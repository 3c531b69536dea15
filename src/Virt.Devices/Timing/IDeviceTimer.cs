namespace Virt.Devices;

/// <summary>A one-shot timer on the <see cref="IVirtualClock"/>. Rescheduling replaces the previous deadline.</summary>
public interface IDeviceTimer
{
    /// <summary>Whether a deadline is pending.</summary>
    bool IsScheduled { get; }

    /// <summary>The pending deadline in guest nanoseconds, or <see cref="long.MaxValue"/> when none.</summary>
    long DeadlineNanoseconds { get; }

    /// <summary>Schedules the callback at an absolute guest time (a time in the past fires at the next opportunity).</summary>
    /// <param name="deadlineNanoseconds">The guest time in nanoseconds.</param>
    void ScheduleAt(long deadlineNanoseconds);

    /// <summary>Cancels the pending deadline, if any.</summary>
    void Cancel();
}
