namespace Virt.Machine.Acpi.Aml;

/// <summary><c>Device (name) { body }</c>.</summary>
/// <param name="path">The device's name (usually one segment).</param>
/// <param name="body">Its objects (_HID, _CRS, methods, sub-devices).</param>
public sealed class AmlDevice(string path, IEnumerable<AmlNode> body) : AmlNode
{
    /// <summary>The normalized path.</summary>
    public string Path { get; } = AmlNameString.Normalize(path);

    /// <summary>Its objects.</summary>
    public IReadOnlyList<AmlNode> Body { get; } = [.. body];
}
