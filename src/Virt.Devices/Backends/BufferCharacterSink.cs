using System.Text;

namespace Virt.Devices;

/// <summary>
/// A sink that keeps everything in memory for a test harness to inspect. Safe to read from another
/// thread while the machine writes.
/// </summary>
public sealed class BufferCharacterSink : ICharacterSink
{
    private readonly List<byte> _bytes = [];
    private readonly Lock _lock = new();

    /// <summary>The number of bytes captured so far.</summary>
    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _bytes.Count;
            }
        }
    }

    /// <inheritdoc/>
    public void Write(ReadOnlySpan<byte> bytes)
    {
        lock (_lock)
        {
            _bytes.AddRange(bytes);
        }
    }

    /// <inheritdoc/>
    public void Flush()
    {
    }

    /// <summary>Copies the captured bytes.</summary>
    /// <returns>A new array.</returns>
    public byte[] ToArray()
    {
        lock (_lock)
        {
            return [.. _bytes];
        }
    }

    /// <summary>The captured bytes decoded as UTF-8.</summary>
    /// <returns>The text.</returns>
    public string GetText() => Encoding.UTF8.GetString(ToArray());

    /// <summary>Forgets the captured bytes.</summary>
    public void Clear()
    {
        lock (_lock)
        {
            _bytes.Clear();
        }
    }
}
