namespace Virt.Devices;

/// <summary>How the <see cref="VirtualClock"/> relates guest time to the host.</summary>
public enum VirtualClockMode
{
    /// <summary>
    /// Guest time advances only with retired instructions at <see cref="VirtualClockOptions.InstructionsPerMicrosecond"/>
    /// (and by explicit idle skips), so two runs of the same guest see the same times and events.
    /// </summary>
    Deterministic,

    /// <summary>
    /// Guest time follows the host's <see cref="TimeProvider"/>: it catches up when the guest is slower than the host and
    /// never runs ahead of it by more than <see cref="VirtualClockOptions.MaxLeadOverHost"/>.
    /// </summary>
    RealTime,
}
