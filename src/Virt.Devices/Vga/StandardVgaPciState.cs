namespace Virt.Devices;

/// <summary>The saved state of a <see cref="StandardVgaPciDevice"/>: its configuration space (the adapter saves its own).</summary>
/// <param name="Version">The record version, <see cref="CurrentVersion"/>.</param>
/// <param name="Configuration">The configuration space.</param>
public sealed record StandardVgaPciState(int Version, PciConfigurationState Configuration)
{
    /// <summary>The version this build writes.</summary>
    public const int CurrentVersion = 1;
}
