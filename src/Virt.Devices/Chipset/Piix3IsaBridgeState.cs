namespace Virt.Devices;

/// <summary>The saved state of a <see cref="Piix3IsaBridge"/>: its configuration space (the PIRQ route registers included).</summary>
/// <param name="Version">The record version, <see cref="CurrentVersion"/>.</param>
/// <param name="Configuration">The configuration space.</param>
public sealed record Piix3IsaBridgeState(int Version, PciConfigurationState Configuration)
{
    /// <summary>The version this build writes.</summary>
    public const int CurrentVersion = 1;
}
