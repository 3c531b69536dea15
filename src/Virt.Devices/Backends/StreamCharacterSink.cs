namespace Virt.Devices;

/// <summary>A sink that writes the bytes unchanged to a host <see cref="Stream"/> (a file, a console stream).</summary>
public sealed class StreamCharacterSink : ICharacterSink, IDisposable
{
    private readonly Stream _stream;
    private readonly bool _leaveOpen;

    /// <summary>Creates the sink.</summary>
    /// <param name="stream">A writable stream.</param>
    /// <param name="leaveOpen">Whether <see cref="Dispose"/> leaves the stream open.</param>
    /// <exception cref="ArgumentException">When the stream is not writable.</exception>
    public StreamCharacterSink(Stream stream, bool leaveOpen = false)
    {
        ArgumentNullException.ThrowIfNull(stream);
        if (!stream.CanWrite)
        {
            throw new ArgumentException("The debug output stream must be writable.", nameof(stream));
        }

        _stream = stream;
        _leaveOpen = leaveOpen;
    }

    /// <inheritdoc/>
    public void Write(ReadOnlySpan<byte> bytes) => _stream.Write(bytes);

    /// <inheritdoc/>
    public void Flush() => _stream.Flush();

    /// <summary>Flushes and, unless left open, closes the stream.</summary>
    public void Dispose()
    {
        _stream.Flush();
        if (!_leaveOpen)
        {
            _stream.Dispose();
        }
    }
}
