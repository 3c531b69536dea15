namespace Virt.Devices;

/// <summary>
/// One channel of the ISA DMA controller as a device on that channel (a floppy controller, a sound card) sees it: the DREQ
/// line it drives, and transfers of its data to or from guest memory that the controller performs at the address and
/// count the guest programmed, ending at terminal count.
/// </summary>
/// <remarks>
/// A device asserts DREQ with <see cref="SetRequest"/> when it has data to move. While DREQ is asserted and the channel can
/// run (controller enabled, channel unmasked), the controller calls the device's service callback
/// (<see cref="Attach"/>) at once, and again whenever the guest unmasks the channel later; the device then calls
/// <see cref="WriteToMemory"/> or <see cref="ReadFromMemory"/> as often as it needs and drops DREQ when done. Transfers
/// take no guest time: single, block and demand modes move the same bytes.
/// </remarks>
public interface IDmaChannel
{
    /// <summary>The channel number, 0 to 7.</summary>
    int Number { get; }

    /// <summary>Whether the channel moves 16-bit words (channels 5-7) rather than bytes (channels 0-3).</summary>
    bool IsSixteenBit { get; }

    /// <summary>Whether a transfer would move data now: the controller is enabled and the channel is not masked.</summary>
    bool IsReady { get; }

    /// <summary>The transfer type the guest programmed in the channel's mode register.</summary>
    DmaTransferType TransferType { get; }

    /// <summary>Whether the last <see cref="WriteToMemory"/> or <see cref="ReadFromMemory"/> ended at terminal count (the count ran out).</summary>
    bool TerminalCountReached { get; }

    /// <summary>Connects the device's service routine (one per channel; null disconnects).</summary>
    /// <param name="service">Called on the machine thread while DREQ is asserted and the channel is ready.</param>
    void Attach(Action? service);

    /// <summary>Drives the channel's DREQ line.</summary>
    /// <param name="asserted">The new level.</param>
    void SetRequest(bool asserted);

    /// <summary>
    /// Moves device data into guest memory (an I/O-to-memory "write" transfer). A channel programmed for verify counts the
    /// bytes without touching memory; one programmed for a read transfer drives no memory write either.
    /// </summary>
    /// <param name="data">The device's bytes; on a 16-bit channel a whole number of words is used.</param>
    /// <returns>The number of bytes the channel took: all of them, or fewer when it reached terminal count; 0 when not ready.</returns>
    int WriteToMemory(ReadOnlySpan<byte> data);

    /// <summary>
    /// Moves guest memory to the device (a memory-to-I/O "read" transfer). A channel programmed otherwise reads no memory;
    /// the device gets zeros.
    /// </summary>
    /// <param name="destination">Where the device's bytes go.</param>
    /// <returns>The number of bytes filled: all of them, or fewer at terminal count; 0 when not ready.</returns>
    int ReadFromMemory(Span<byte> destination);
}
