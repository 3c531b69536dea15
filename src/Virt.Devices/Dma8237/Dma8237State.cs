namespace Virt.Devices;

/// <summary>The saved state of a <see cref="Dma8237"/>. Equality compares the page register contents.</summary>
/// <param name="Version">The record version, <see cref="CurrentVersion"/>.</param>
/// <param name="Master">The master 8237 (channels 0-3).</param>
/// <param name="Slave">The slave 8237 (channels 4-7).</param>
/// <param name="PageRegisters">The 15 bytes of ports 81h-8Fh (the channels' page registers and the spare ones between them).</param>
public sealed record Dma8237State(int Version, Dma8237ControllerState Master, Dma8237ControllerState Slave, byte[] PageRegisters)
{
    /// <summary>The version this library writes.</summary>
    public const int CurrentVersion = 1;

    /// <inheritdoc/>
    public bool Equals(Dma8237State? other) =>
        other is not null
        && Version == other.Version
        && Equals(Master, other.Master)
        && Equals(Slave, other.Slave)
        && PageRegisters.AsSpan().SequenceEqual(other.PageRegisters);

    /// <inheritdoc/>
    public override int GetHashCode()
    {
        var hash = new HashCode();
        hash.Add(Version);
        hash.Add(Master);
        hash.Add(Slave);
        hash.AddBytes(PageRegisters);
        return hash.ToHashCode();
    }
}
