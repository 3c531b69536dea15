namespace Virt.Devices;

/// <summary>A sink that drops everything.</summary>
public sealed class NullCharacterSink : ICharacterSink
{
    /// <inheritdoc/>
    public void Write(ReadOnlySpan<byte> bytes)
    {
    }

    /// <inheritdoc/>
    public void Flush()
    {
    }
}
