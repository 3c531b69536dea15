using Virt.Memory;

namespace Virt.Machine.Boot;

/// <summary>A range of guest memory a loader wrote or reserved, for logs and tests.</summary>
/// <param name="Name">What it holds, for example <c>kernel</c>, <c>initrd</c>, <c>boot_params</c>, <c>module 1 (initrd.img)</c>.</param>
/// <param name="Range">Where it is.</param>
public sealed record BootRegion(string Name, AddressRange Range)
{
    /// <summary>Formats the region as <c>name [start..last]</c>.</summary>
    /// <returns>The formatted region.</returns>
    public override string ToString() => $"{Name} {Range}";
}
