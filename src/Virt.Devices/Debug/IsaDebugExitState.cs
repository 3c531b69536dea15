namespace Virt.Devices;

/// <summary>The saved state of an <see cref="IsaDebugExit"/>: it has no guest-visible state besides its version.</summary>
/// <param name="Version">The record version, <see cref="CurrentVersion"/>.</param>
public sealed record IsaDebugExitState(int Version)
{
    /// <summary>The version this build writes.</summary>
    public const int CurrentVersion = 1;
}
