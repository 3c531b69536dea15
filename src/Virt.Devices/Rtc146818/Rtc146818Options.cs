namespace Virt.Devices;

/// <summary>Options of a <see cref="Rtc146818"/>.</summary>
public sealed record Rtc146818Options
{
    /// <summary>
    /// The wall-clock time the RTC shows at guest time zero (its <see cref="DateTimeOffset.DateTime"/> fields are used as
    /// they are; the offset is ignored). The default is fixed so deterministic runs agree; pass the host's time for real time.
    /// </summary>
    public DateTimeOffset StartTime { get; init; } = new(2025, 1, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>The index port; the data port follows (default 70h).</summary>
    public ushort BasePort { get; init; } = 0x70;
}
