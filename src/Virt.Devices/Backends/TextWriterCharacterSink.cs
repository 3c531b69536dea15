using System.Text;

namespace Virt.Devices;

/// <summary>
/// A sink that decodes the guest's bytes (UTF-8 by default, so plain ASCII passes unchanged) and
/// writes the characters to a host <see cref="TextWriter"/> such as <see cref="Console.Out"/>.
/// A multi-byte sequence split across writes is decoded once complete.
/// </summary>
public sealed class TextWriterCharacterSink : ICharacterSink
{
    private readonly TextWriter _writer;
    private readonly Decoder _decoder;
    private readonly char[] _chars = new char[256];

    /// <summary>Creates the sink.</summary>
    /// <param name="writer">Where the text goes.</param>
    /// <param name="encoding">How the guest's bytes are decoded; UTF-8 when null (use <see cref="Encoding.Latin1"/> for one character per byte).</param>
    public TextWriterCharacterSink(TextWriter writer, Encoding? encoding = null)
    {
        ArgumentNullException.ThrowIfNull(writer);
        _writer = writer;
        _decoder = (encoding ?? Encoding.UTF8).GetDecoder();
    }

    /// <inheritdoc/>
    public void Write(ReadOnlySpan<byte> bytes)
    {
        while (!bytes.IsEmpty)
        {
            _decoder.Convert(bytes, _chars, flush: false, out int bytesUsed, out int charsUsed, out _);
            _writer.Write(_chars, 0, charsUsed);
            bytes = bytes[bytesUsed..];
        }
    }

    /// <inheritdoc/>
    public void Flush() => _writer.Flush();
}
