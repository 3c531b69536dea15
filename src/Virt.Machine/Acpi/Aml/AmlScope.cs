namespace Virt.Machine.Acpi.Aml;

/// <summary><c>Scope (path) { body }</c>: opens an existing namespace scope.</summary>
/// <param name="path">The scope's path.</param>
/// <param name="body">The declarations inside.</param>
public sealed class AmlScope(string path, IEnumerable<AmlNode> body) : AmlNode
{
    /// <summary>The normalized path.</summary>
    public string Path { get; } = AmlNameString.Normalize(path);

    /// <summary>The declarations inside.</summary>
    public IReadOnlyList<AmlNode> Body { get; } = [.. body];
}
