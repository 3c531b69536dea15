namespace Virt.Devices;

/// <summary>Options of a <see cref="VirtualClock"/>.</summary>
public sealed record VirtualClockOptions
{
    /// <summary>Deterministic (the default) or real time.</summary>
    public VirtualClockMode Mode { get; init; } = VirtualClockMode.Deterministic;

    /// <summary>
    /// The nominal guest speed: retired instructions per microsecond of guest time (1 to 1,000,000; default 100,
    /// that is 10 ns per instruction). In real-time mode it is only the estimate used to size CPU slices.
    /// </summary>
    public long InstructionsPerMicrosecond { get; init; } = 100;

    /// <summary>Real-time mode: how far guest time may run ahead of host time (default 10 ms, at least 1 µs).</summary>
    public TimeSpan MaxLeadOverHost { get; init; } = TimeSpan.FromMilliseconds(10);

    /// <summary>Real-time mode: the host time source (default <see cref="TimeProvider.System"/>).</summary>
    public TimeProvider? TimeProvider { get; init; }
}
