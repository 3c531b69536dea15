namespace Virt.Devices;

/// <summary>The saved state of an <see cref="I440fxHostBridge"/>: its configuration space (PAM and SMRAM included).</summary>
/// <param name="Version">The record version, <see cref="CurrentVersion"/>.</param>
/// <param name="Configuration">The configuration space.</param>
public sealed record I440fxHostBridgeState(int Version, PciConfigurationState Configuration)
{
    /// <summary>The version this build writes.</summary>
    public const int CurrentVersion = 1;
}
