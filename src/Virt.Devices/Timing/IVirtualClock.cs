namespace Virt.Devices;

/// <summary>
/// The machine's virtual clock as devices see it: the current guest time and timers that call back
/// at a guest time. Callbacks run on the machine's thread, between CPU instructions, in deadline order.
/// </summary>
public interface IVirtualClock
{
    /// <summary>The current guest time in nanoseconds since power-on.</summary>
    long NowNanoseconds { get; }

    /// <summary>Creates a timer; it is not scheduled until <see cref="IDeviceTimer.ScheduleAt"/> is called.</summary>
    /// <param name="name">A name for logs, for example <c>"PIT counter 0"</c>.</param>
    /// <param name="callback">What to run when the deadline is reached; it may reschedule the timer.</param>
    /// <returns>The timer.</returns>
    IDeviceTimer CreateTimer(string name, Action callback);
}
