namespace Virt.Machine.Acpi.Aml;

/// <summary>A reference to a named object, as a term, a package element or a target (for example <c>\_SB.LNKA</c>).</summary>
/// <param name="path">The name path (see <see cref="AmlNameString"/>).</param>
public sealed class AmlNameReference(string path) : AmlNode
{
    /// <summary>The normalized path (segments padded with '_').</summary>
    public string Path { get; } = AmlNameString.Normalize(path);
}
