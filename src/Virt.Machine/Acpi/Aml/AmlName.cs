namespace Virt.Machine.Acpi.Aml;

/// <summary><c>Name (name, value)</c>: declares a named data object.</summary>
/// <param name="path">The name.</param>
/// <param name="value">The data object (integer, string, buffer, package).</param>
public sealed class AmlName(string path, AmlNode value) : AmlNode
{
    /// <summary>The normalized path.</summary>
    public string Path { get; } = AmlNameString.Normalize(path);

    /// <summary>The value.</summary>
    public AmlNode Value { get; } = value ?? throw new ArgumentNullException(nameof(value));
}
