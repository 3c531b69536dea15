namespace Virt.Devices;

/// <summary>The saved state of a <see cref="VirtualClock"/>: guest time only. Devices save and reschedule their own timers.</summary>
/// <param name="Version">The record version, <see cref="CurrentVersion"/>.</param>
/// <param name="NowNanoseconds">The guest time.</param>
/// <param name="InstructionRemainder">
/// The fraction of a nanosecond carried between instruction batches: (instructions × 1000) modulo
/// <see cref="VirtualClockOptions.InstructionsPerMicrosecond"/>, so 0 to that rate - 1, in units of 1/rate ns.
/// </param>
public sealed record VirtualClockState(int Version, long NowNanoseconds, long InstructionRemainder)
{
    /// <summary>The version this library writes.</summary>
    public const int CurrentVersion = 1;
}
