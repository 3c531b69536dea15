namespace Virt.Devices;

/// <summary>
/// The host end of a serial line (a UART's TX and RX pins). The UART calls both members on the
/// machine thread only, and neither may block: a backend that cannot take a byte now says so, and
/// the UART keeps the byte in its transmitter (the guest sees a busy line) and offers it again later.
/// Bytes are never dropped or reordered by the contract; only a backend whose host side has gone
/// away may discard output.
/// </summary>
public interface ISerialBackend
{
    /// <summary>Offers one byte the guest transmitted.</summary>
    /// <param name="value">The byte.</param>
    /// <returns>True when the backend took the byte; false when the host is not keeping up (offer it again later).</returns>
    bool TryTransmit(byte value);

    /// <summary>Takes bytes the host sent to the guest, as many as are available now and fit.</summary>
    /// <param name="destination">Where to copy them; its length is how many the UART has room for.</param>
    /// <returns>The number of bytes copied (0 when none are waiting). Bytes that did not fit stay queued, in order.</returns>
    int TryReceive(Span<byte> destination);
}
