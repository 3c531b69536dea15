namespace Virt.Machine.Acpi.Aml;

/// <summary><c>Field (region, access, NoLock, update) { units }</c>: names bit fields of an operation region.</summary>
/// <param name="regionPath">The operation region's path.</param>
/// <param name="access">The access width.</param>
/// <param name="update">The update rule.</param>
/// <param name="units">The fields, in bit order.</param>
public sealed class AmlField(string regionPath, AmlFieldAccess access, AmlFieldUpdate update, IEnumerable<AmlFieldUnit> units) : AmlNode
{
    /// <summary>The region's normalized path.</summary>
    public string RegionPath { get; } = AmlNameString.Normalize(regionPath);

    /// <summary>The access width.</summary>
    public AmlFieldAccess Access { get; } = access;

    /// <summary>The update rule.</summary>
    public AmlFieldUpdate Update { get; } = update;

    /// <summary>The fields, in bit order.</summary>
    public IReadOnlyList<AmlFieldUnit> Units { get; } = [.. units];
}
