namespace Virt.Devices;

/// <summary>The saved state of a <see cref="Piix3Ide"/>: its configuration space and its two channels.</summary>
/// <param name="Version">The record version, <see cref="CurrentVersion"/>.</param>
/// <param name="Configuration">The configuration space (command, IDETIM, BMIBA, programming interface).</param>
/// <param name="Channels">The primary and secondary channel.</param>
public sealed record Piix3IdeState(int Version, PciConfigurationState Configuration, IdeChannelState[] Channels)
{
    /// <summary>The version this build writes.</summary>
    public const int CurrentVersion = 1;
}
