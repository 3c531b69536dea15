namespace Virt.Devices;

/// <summary>The saved state of a <see cref="Rtc146818"/>. Equality compares the RAM contents.</summary>
/// <param name="Version">The record version, <see cref="CurrentVersion"/>.</param>
/// <param name="Ram">The 128 bytes: clock registers 00h-0Dh (register A without UIP) and CMOS RAM 0Eh-7Fh.</param>
/// <param name="Index">The register selected through port 70h (0-127).</param>
/// <param name="NmiMasked">Port 70h bit 7.</param>
/// <param name="DividerRunning">Whether the divider chain runs (register A DV = 010).</param>
/// <param name="DividerOriginNanoseconds">The guest time of cycle zero of the 32.768 kHz divider chain.</param>
/// <param name="SyncedCycle">The divider cycle up to which updates and flags have been applied.</param>
public sealed record Rtc146818State(
    int Version,
    byte[] Ram,
    int Index,
    bool NmiMasked,
    bool DividerRunning,
    long DividerOriginNanoseconds,
    long SyncedCycle)
{
    /// <summary>The version this library writes.</summary>
    public const int CurrentVersion = 1;

    /// <inheritdoc/>
    public bool Equals(Rtc146818State? other) =>
        other is not null
        && Version == other.Version
        && Ram.AsSpan().SequenceEqual(other.Ram)
        && Index == other.Index
        && NmiMasked == other.NmiMasked
        && DividerRunning == other.DividerRunning
        && DividerOriginNanoseconds == other.DividerOriginNanoseconds
        && SyncedCycle == other.SyncedCycle;

    /// <inheritdoc/>
    public override int GetHashCode()
    {
        var hash = new HashCode();
        hash.Add(Version);
        hash.AddBytes(Ram);
        hash.Add(Index);
        hash.Add(NmiMasked);
        hash.Add(DividerRunning);
        hash.Add(DividerOriginNanoseconds);
        hash.Add(SyncedCycle);
        return hash.ToHashCode();
    }
}
