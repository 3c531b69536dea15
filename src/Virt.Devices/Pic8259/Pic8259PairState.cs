namespace Virt.Devices;

/// <summary>The saved state of a <see cref="Pic8259Pair"/>.</summary>
/// <param name="Version">The record version, <see cref="CurrentVersion"/>.</param>
/// <param name="Master">The master 8259A (IRQ 0-7).</param>
/// <param name="Slave">The slave 8259A (IRQ 8-15).</param>
public sealed record Pic8259PairState(int Version, Pic8259ChipState Master, Pic8259ChipState Slave)
{
    /// <summary>The version this library writes.</summary>
    public const int CurrentVersion = 1;
}
