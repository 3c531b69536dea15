namespace Virt.Machine.Acpi.Aml;

/// <summary>A method invocation: the method's name followed by its arguments.</summary>
/// <param name="path">The method's path.</param>
/// <param name="arguments">The arguments (as many as the method declares).</param>
public sealed class AmlCall(string path, IEnumerable<AmlNode> arguments) : AmlNode
{
    /// <summary>The normalized path.</summary>
    public string Path { get; } = AmlNameString.Normalize(path);

    /// <summary>The arguments.</summary>
    public IReadOnlyList<AmlNode> Arguments { get; } = [.. arguments];
}
