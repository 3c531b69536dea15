namespace Virt.Devices;

/// <summary>A serial line with nothing attached: output is discarded, no input ever arrives.</summary>
public sealed class NullSerialBackend : ISerialBackend
{
    /// <inheritdoc/>
    public bool TryTransmit(byte value) => true;

    /// <inheritdoc/>
    public int TryReceive(Span<byte> destination) => 0;
}
