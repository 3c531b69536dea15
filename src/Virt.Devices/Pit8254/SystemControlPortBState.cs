namespace Virt.Devices;

/// <summary>The saved state of a <see cref="SystemControlPortB"/>.</summary>
/// <param name="Version">The record version, <see cref="CurrentVersion"/>.</param>
/// <param name="WritableBits">Bits 3-0 as last written.</param>
public sealed record SystemControlPortBState(int Version, byte WritableBits)
{
    /// <summary>The version this library writes.</summary>
    public const int CurrentVersion = 1;
}
