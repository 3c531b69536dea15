namespace Virt.Machine.Acpi.Aml;

/// <summary><c>Method (name, argumentCount, Serialized|NotSerialized) { body }</c>.</summary>
public sealed class AmlMethod : AmlNode
{
    /// <summary>Creates the method.</summary>
    /// <param name="path">Its name.</param>
    /// <param name="argumentCount">0 to 7.</param>
    /// <param name="serialized">Whether calls are serialized (needed when it creates named objects).</param>
    /// <param name="body">Its statements.</param>
    public AmlMethod(string path, int argumentCount, bool serialized, IEnumerable<AmlNode> body)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(argumentCount);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(argumentCount, AmlArgument.Count);
        ArgumentNullException.ThrowIfNull(body);
        Path = AmlNameString.Normalize(path);
        ArgumentCount = argumentCount;
        Serialized = serialized;
        Body = [.. body];
    }

    /// <summary>The normalized path.</summary>
    public string Path { get; }

    /// <summary>The number of arguments.</summary>
    public int ArgumentCount { get; }

    /// <summary>Whether calls are serialized.</summary>
    public bool Serialized { get; }

    /// <summary>Its statements.</summary>
    public IReadOnlyList<AmlNode> Body { get; }
}
