namespace Virt.Devices;

/// <summary>The saved state of an <see cref="IoApic"/>.</summary>
/// <param name="Version">The record version, <see cref="CurrentVersion"/>.</param>
/// <param name="Id">IOAPICID bits 27:24.</param>
/// <param name="RegisterSelect">IOREGSEL.</param>
/// <param name="RedirectionTable">The 24 redirection entries, 64 bits each (remote IRR included).</param>
/// <param name="InputLevels">The level of each input pin, bit n for pin n (for edge detection).</param>
public sealed record IoApicState(int Version, byte Id, byte RegisterSelect, ulong[] RedirectionTable, uint InputLevels)
{
    /// <summary>The version this library writes.</summary>
    public const int CurrentVersion = 1;

    /// <summary>Compares every field, the table by value.</summary>
    /// <param name="other">The other record.</param>
    /// <returns>Whether both describe the same state.</returns>
    public bool Equals(IoApicState? other) =>
        other is not null && Version == other.Version && Id == other.Id && RegisterSelect == other.RegisterSelect &&
        RedirectionTable.AsSpan().SequenceEqual(other.RedirectionTable) && InputLevels == other.InputLevels;

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(Version, Id, RegisterSelect, InputLevels);
}
