namespace Virt.Devices;

/// <summary>
/// The saved state every <see cref="PciDevice"/> has: its 256-byte configuration space (the guest-written registers,
/// BAR addresses included) and the level its function requests on INTx#. Device records embed it.
/// </summary>
/// <param name="Version">The record version, <see cref="CurrentVersion"/>.</param>
/// <param name="ConfigurationSpace">The 256 configuration bytes.</param>
/// <param name="InterruptRequested">Whether the function requests an interrupt on its pin.</param>
public sealed record PciConfigurationState(int Version, byte[] ConfigurationSpace, bool InterruptRequested)
{
    /// <summary>The version this build writes.</summary>
    public const int CurrentVersion = 1;

    /// <summary>Compares every field, the configuration bytes by value.</summary>
    /// <param name="other">The other record.</param>
    /// <returns>Whether both describe the same state.</returns>
    public bool Equals(PciConfigurationState? other) =>
        other is not null && Version == other.Version && InterruptRequested == other.InterruptRequested &&
        ConfigurationSpace.AsSpan().SequenceEqual(other.ConfigurationSpace);

    /// <summary>A hash over the fields and the configuration bytes.</summary>
    /// <returns>The hash.</returns>
    public override int GetHashCode()
    {
        var hash = new HashCode();
        hash.Add(Version);
        hash.Add(InterruptRequested);
        hash.AddBytes(ConfigurationSpace);
        return hash.ToHashCode();
    }
}
