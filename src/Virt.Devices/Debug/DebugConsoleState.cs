namespace Virt.Devices;

/// <summary>The saved state of a <see cref="DebugConsole"/>: it has no guest-visible state besides its version.</summary>
/// <param name="Version">The record version, <see cref="CurrentVersion"/>.</param>
public sealed record DebugConsoleState(int Version)
{
    /// <summary>The version this build writes.</summary>
    public const int CurrentVersion = 1;
}
