namespace Virt.Devices;

/// <summary>A timer of a <see cref="VirtualClock"/>; its position in the clock's heap is kept here for O(log n) updates.</summary>
internal sealed class DeviceTimer : IDeviceTimer
{
    private readonly VirtualClock _clock;

    internal DeviceTimer(VirtualClock clock, string name, Action callback, long creationIndex)
    {
        _clock = clock;
        Name = name;
        Callback = callback;
        CreationIndex = creationIndex;
    }

    /// <summary>The name given at creation, for logs.</summary>
    public string Name { get; }

    /// <summary>The order of creation: breaks ties between equal deadlines, so event order is deterministic.</summary>
    public long CreationIndex { get; }

    /// <summary>What runs at the deadline.</summary>
    public Action Callback { get; }

    /// <summary>The index in the clock's heap, or -1 when not scheduled.</summary>
    public int HeapIndex { get; set; } = -1;

    /// <inheritdoc/>
    public bool IsScheduled => HeapIndex >= 0;

    /// <inheritdoc/>
    public long DeadlineNanoseconds { get; set; } = long.MaxValue;

    /// <inheritdoc/>
    public void ScheduleAt(long deadlineNanoseconds) => _clock.Schedule(this, deadlineNanoseconds);

    /// <inheritdoc/>
    public void Cancel() => _clock.Unschedule(this);

    /// <inheritdoc/>
    public override string ToString() => IsScheduled ? $"{Name} @ {DeadlineNanoseconds} ns" : $"{Name} (idle)";
}
