namespace Virt.Devices;

/// <summary>Options of the <see cref="KeyboardController8042"/>.</summary>
public sealed record KeyboardController8042Options
{
    /// <summary>The device name for messages.</summary>
    public string Name { get; init; } = "i8042";

    /// <summary>The data port (60h).</summary>
    public ushort DataPort { get; init; } = 0x60;

    /// <summary>The status/command port (64h).</summary>
    public ushort CommandPort { get; init; } = 0x64;

    /// <summary>
    /// The command byte after reset. The default 43h (IRQ1 and IRQ12 enabled, both ports enabled,
    /// set-1 translation on, system flag clear) suits guests that start without firmware; BIOSes write their own.
    /// </summary>
    public byte InitialCommandByte { get; init; } = 0x43;

    /// <summary>
    /// The guest time between two bytes a device (keyboard, mouse) delivers into the output buffer
    /// after the guest read the previous one (default 100 µs). Real PS/2 devices take about 1 ms per byte;
    /// the gap keeps a "read until empty" loop from draining bytes a device has not sent yet.
    /// </summary>
    public long DeviceByteIntervalNanoseconds { get; init; } = 100_000;

    /// <summary>
    /// How often, in guest nanoseconds, the controller drains its <see cref="InputEventQueue"/>
    /// when it has one (default 10 ms: below what a person notices, cheap for the machine).
    /// </summary>
    public long HostInputPollIntervalNanoseconds { get; init; } = 10_000_000;
}
