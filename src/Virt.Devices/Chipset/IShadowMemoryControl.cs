using Virt.Memory;

namespace Virt.Devices;

/// <summary>
/// What the host bridge's PAM registers change: where reads and writes of one shadowable segment of the C0000h-FFFFFh
/// area go. The board implements it over its memory map (<see cref="PhysicalMemoryMap.SetShadowMode"/>), with one
/// shadowable ROM region per <see cref="PamSegment"/>, named as the segment says.
/// </summary>
public interface IShadowMemoryControl
{
    /// <summary>Switches one segment between ROM and its shadow RAM.</summary>
    /// <param name="regionName">The segment's region (<see cref="PamSegment.RegionName"/>).</param>
    /// <param name="mode">Where reads and writes go.</param>
    void SetShadowMode(string regionName, ShadowMode mode);
}
