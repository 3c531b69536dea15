namespace Virt.Machine.Acpi.Aml;

/// <summary>One element of a field list: a named field of <see cref="BitLength"/> bits, or (with no name) a gap.</summary>
public sealed class AmlFieldUnit
{
    /// <summary>Creates the element.</summary>
    /// <param name="name">A single name segment, or null for a reserved gap (<c>Offset</c>/<c>, n</c> in ASL).</param>
    /// <param name="bitLength">The width in bits (at least 1).</param>
    public AmlFieldUnit(string? name, int bitLength)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(bitLength, 1);
        Name = name is null ? null : AmlNameString.NormalizeSegment(name);
        BitLength = bitLength;
    }

    /// <summary>The normalized name segment, or null for a gap.</summary>
    public string? Name { get; }

    /// <summary>The width in bits.</summary>
    public int BitLength { get; }
}
