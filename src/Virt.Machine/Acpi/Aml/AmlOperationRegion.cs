namespace Virt.Machine.Acpi.Aml;

/// <summary><c>OperationRegion (name, space, offset, length)</c>.</summary>
/// <param name="path">The region's name.</param>
/// <param name="space">The address space.</param>
/// <param name="offset">The first address (a term: usually an integer).</param>
/// <param name="length">The length in bytes (a term).</param>
public sealed class AmlOperationRegion(string path, AmlRegionSpace space, AmlNode offset, AmlNode length) : AmlNode
{
    /// <summary>The normalized path.</summary>
    public string Path { get; } = AmlNameString.Normalize(path);

    /// <summary>The address space.</summary>
    public AmlRegionSpace Space { get; } = space;

    /// <summary>The first address.</summary>
    public AmlNode Offset { get; } = offset ?? throw new ArgumentNullException(nameof(offset));

    /// <summary>The length.</summary>
    public AmlNode Length { get; } = length ?? throw new ArgumentNullException(nameof(length));
}
