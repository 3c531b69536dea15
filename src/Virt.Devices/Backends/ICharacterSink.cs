namespace Virt.Devices;

/// <summary>
/// Where a character device's output goes on the host: the port E9h debug console, a console log.
/// Called on the machine thread, byte by byte or in runs; an implementation must not block for long
/// and must not throw for I/O trouble it can absorb (a closed writer, a full disk): the guest never sees it.
/// </summary>
public interface ICharacterSink
{
    /// <summary>Takes bytes the guest wrote.</summary>
    /// <param name="bytes">The bytes, in guest order.</param>
    void Write(ReadOnlySpan<byte> bytes);

    /// <summary>Pushes buffered output to its destination (called when the machine stops).</summary>
    void Flush();
}
