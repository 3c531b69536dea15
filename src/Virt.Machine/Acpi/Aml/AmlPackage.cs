namespace Virt.Machine.Acpi.Aml;

/// <summary>A package (a fixed list of data objects and name references), at most 255 elements.</summary>
public sealed class AmlPackage : AmlNode
{
    /// <summary>The most elements a <c>Package</c> (rather than a <c>VarPackage</c>) holds.</summary>
    public const int MaxElements = 255;

    /// <summary>Creates the package.</summary>
    /// <param name="elements">The elements.</param>
    /// <exception cref="ArgumentException">When there are more than <see cref="MaxElements"/>.</exception>
    public AmlPackage(IEnumerable<AmlNode> elements)
    {
        ArgumentNullException.ThrowIfNull(elements);
        Elements = [.. elements];
        if (Elements.Count > MaxElements)
        {
            throw new ArgumentException($"An AML package holds at most {MaxElements} elements, not {Elements.Count}.", nameof(elements));
        }
    }

    /// <summary>Creates the package.</summary>
    /// <param name="elements">The elements.</param>
    public AmlPackage(params AmlNode[] elements)
        : this((IEnumerable<AmlNode>)elements)
    {
    }

    /// <summary>The elements.</summary>
    public IReadOnlyList<AmlNode> Elements { get; }
}
