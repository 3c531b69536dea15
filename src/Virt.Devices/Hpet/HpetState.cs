namespace Virt.Devices;

/// <summary>The saved state of an <see cref="Hpet"/>.</summary>
/// <param name="Version">The record version, <see cref="CurrentVersion"/>.</param>
/// <param name="Configuration">GEN_CONF: ENABLE_CNF and LEG_RT_CNF.</param>
/// <param name="InterruptStatus">GINTR_STA.</param>
/// <param name="CounterBase">The main counter's value at <paramref name="CounterAnchorNanoseconds"/> (its value while halted).</param>
/// <param name="CounterAnchorNanoseconds">The guest time the counter was last anchored at.</param>
/// <param name="Timers">The timers, timer 0 first.</param>
public sealed record HpetState(int Version, ulong Configuration, ulong InterruptStatus, ulong CounterBase, long CounterAnchorNanoseconds, HpetTimerState[] Timers)
{
    /// <summary>The version this library writes.</summary>
    public const int CurrentVersion = 1;

    /// <summary>Compares every field, the timers by value.</summary>
    /// <param name="other">The other record.</param>
    /// <returns>Whether both describe the same state.</returns>
    public bool Equals(HpetState? other) =>
        other is not null && Version == other.Version && Configuration == other.Configuration && InterruptStatus == other.InterruptStatus &&
        CounterBase == other.CounterBase && CounterAnchorNanoseconds == other.CounterAnchorNanoseconds && Timers.AsSpan().SequenceEqual(other.Timers);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(Version, Configuration, InterruptStatus, CounterBase, CounterAnchorNanoseconds);
}
