namespace Virt.Machine;

/// <summary>
/// How far <see cref="Machine.PerturbEntropy"/> moves the guest-visible time sources forward, so that machines restored
/// from one snapshot or rewound to one checkpoint do not read the same "random" values (docs/snapshots.md). Build it
/// from a seed with <see cref="FromSeed"/>: equal seeds give equal offsets, so a run stays reproducible.
/// </summary>
/// <param name="TscOffset">Added to the time-stamp counter the guest reads with RDTSC or RDMSR 10h (1 GHz ticks).</param>
/// <param name="RtcOffsetSeconds">Whole seconds added to the CMOS real-time clock's calendar; 0 or more.</param>
public sealed record EntropyPerturbation(ulong TscOffset, long RtcOffsetSeconds)
{
    /// <summary>The smallest TSC offset <see cref="FromSeed"/> picks: about 1 ms, so even close seeds differ well above jitter.</summary>
    public const ulong MinimumSeededTscOffset = 1UL << 20;

    /// <summary>The TSC offsets <see cref="FromSeed"/> picks stay below this (about 18 minutes of guest time).</summary>
    public const ulong SeededTscOffsetLimit = 1UL << 40;

    /// <summary>The RTC offsets <see cref="FromSeed"/> picks stay below this (about 12 days) and are at least one second.</summary>
    public const long SeededRtcOffsetLimitSeconds = 1L << 20;

    // SplitMix64's increment and multipliers (Steele, Lea and Flood, "Fast splittable pseudorandom number generators", 2014).
    private const ulong GoldenGamma = 0x9E3779B97F4A7C15;
    private const ulong MixMultiplier1 = 0xBF58476D1CE4E5B9;
    private const ulong MixMultiplier2 = 0x94D049BB133111EB;

    /// <summary>
    /// Offsets derived from <paramref name="seed"/> with a fixed mixing function (the same on every host and version):
    /// the TSC moves forward by <see cref="MinimumSeededTscOffset"/> to <see cref="SeededTscOffsetLimit"/> ticks and the
    /// RTC by 1 second to <see cref="SeededRtcOffsetLimitSeconds"/>. Both only go forward, as time would in a real clone.
    /// </summary>
    /// <param name="seed">Any value; the host picks it (for example a clone's index, or a random number it logs).</param>
    /// <returns>The perturbation.</returns>
    public static EntropyPerturbation FromSeed(ulong seed)
    {
        ulong state = seed;
        ulong tsc = Next(ref state);
        ulong rtc = Next(ref state);
        return new EntropyPerturbation(
            MinimumSeededTscOffset + (tsc % (SeededTscOffsetLimit - MinimumSeededTscOffset)),
            1 + (long)(rtc % (ulong)(SeededRtcOffsetLimitSeconds - 1)));
    }

    private static ulong Next(ref ulong state)
    {
        state += GoldenGamma;
        ulong z = state;
        z = (z ^ (z >> 30)) * MixMultiplier1;
        z = (z ^ (z >> 27)) * MixMultiplier2;
        return z ^ (z >> 31);
    }
}
