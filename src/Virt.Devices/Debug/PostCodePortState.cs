namespace Virt.Devices;

/// <summary>The saved state of a <see cref="PostCodePort"/>.</summary>
/// <param name="Version">The record version, <see cref="CurrentVersion"/>.</param>
/// <param name="LastCode">The latched byte a read returns.</param>
public sealed record PostCodePortState(int Version, byte LastCode)
{
    /// <summary>The version this build writes.</summary>
    public const int CurrentVersion = 1;
}
