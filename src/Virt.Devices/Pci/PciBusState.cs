namespace Virt.Devices;

/// <summary>The saved state of a <see cref="PciBus"/> (its functions save their own).</summary>
/// <param name="Version">The record version, <see cref="CurrentVersion"/>.</param>
/// <param name="ConfigAddress">The CONFIG_ADDRESS register (CF8h).</param>
public sealed record PciBusState(int Version, uint ConfigAddress)
{
    /// <summary>The version this build writes.</summary>
    public const int CurrentVersion = 1;
}
