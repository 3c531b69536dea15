namespace Virt.Devices;

/// <summary>
/// An output-only serial line: the guest's bytes go to an <see cref="ICharacterSink"/> (the console, a log,
/// a <see cref="BufferCharacterSink"/> a test asserts on); no input ever arrives. Like QEMU's
/// <c>-serial file:</c> or a harness capturing a kernel's serial console.
/// </summary>
public sealed class CharacterSinkSerialBackend : ISerialBackend
{
    private readonly ICharacterSink _sink;

    /// <summary>Creates the backend.</summary>
    /// <param name="sink">Where the guest's bytes go.</param>
    public CharacterSinkSerialBackend(ICharacterSink sink)
    {
        ArgumentNullException.ThrowIfNull(sink);
        _sink = sink;
    }

    /// <inheritdoc/>
    public bool TryTransmit(byte value)
    {
        ReadOnlySpan<byte> one = [value];
        _sink.Write(one);
        return true;
    }

    /// <inheritdoc/>
    public int TryReceive(Span<byte> destination) => 0;
}
