namespace Virt.Devices;

/// <summary>The saved state of a <see cref="VirtualClock"/>: guest time only. Devices save and reschedule their own timers.</summary>
/// <param name="Version">The record version, <see cref="CurrentVersion"/>.</param>
/// <param name="NowNanoseconds">The guest time.</param>
/// <param name="InstructionRemainder">Deterministic mode: the fraction of a nanosecond carried between instruction batches, in units of 1/1000 instruction-microseconds (0 to <see cref="VirtualClockOptions.InstructionsPerMicrosecond"/> - 1).</param>
public sealed record VirtualClockState(int Version, long NowNanoseconds, long InstructionRemainder)
{
    /// <summary>The version this library writes.</summary>
    public const int CurrentVersion = 1;
}
