namespace Virt.Devices.FwCfg;

/// <summary>The saved state of a <see cref="FwCfgDevice"/>. The items themselves are host configuration and are not saved.</summary>
/// <param name="Version">The record version, <see cref="CurrentVersion"/>.</param>
/// <param name="Selector">The selector last written (with its write-channel and architecture bits as written).</param>
/// <param name="Offset">The read offset within the selected item (may lie past its end: reads then give 0).</param>
/// <param name="DmaAddressHigh">The high 32 bits of the DMA address written so far (they wait for the low half).</param>
public sealed record FwCfgState(int Version, ushort Selector, uint Offset, uint DmaAddressHigh)
{
    /// <summary>The version this build writes.</summary>
    public const int CurrentVersion = 1;
}
