namespace Virt.Devices;

/// <summary>A sink that hands each byte to a host callback (on the machine thread).</summary>
public sealed class DelegateCharacterSink : ICharacterSink
{
    private readonly Action<byte> _onByte;

    /// <summary>Creates the sink.</summary>
    /// <param name="onByte">Called once per byte, in guest order.</param>
    public DelegateCharacterSink(Action<byte> onByte)
    {
        ArgumentNullException.ThrowIfNull(onByte);
        _onByte = onByte;
    }

    /// <inheritdoc/>
    public void Write(ReadOnlySpan<byte> bytes)
    {
        foreach (byte value in bytes)
        {
            _onByte(value);
        }
    }

    /// <inheritdoc/>
    public void Flush()
    {
    }
}
