namespace Virt.Devices;

/// <summary>The saved state of a <see cref="SystemControlPortA"/>.</summary>
/// <param name="Version">The record version, <see cref="CurrentVersion"/>.</param>
/// <param name="Value">The last value written (bit 1 is read from the platform's A20 state).</param>
public sealed record SystemControlPortAState(int Version, byte Value)
{
    /// <summary>The version this build writes.</summary>
    public const int CurrentVersion = 1;
}
