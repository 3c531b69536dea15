namespace Virt.Devices;

/// <summary>The saved state of an <see cref="IsaIdeController"/>: its two channels.</summary>
/// <param name="Version">The record version, <see cref="CurrentVersion"/>.</param>
/// <param name="Channels">The primary and secondary channel.</param>
public sealed record IsaIdeControllerState(int Version, IdeChannelState[] Channels)
{
    /// <summary>The version this build writes.</summary>
    public const int CurrentVersion = 1;
}
