namespace Virt.Devices;

/// <summary>The saved state of a <see cref="KeyboardController8042"/> with its keyboard and mouse.</summary>
/// <param name="Version">The record version, <see cref="CurrentVersion"/>.</param>
/// <param name="Ram">The 32 bytes of controller RAM; byte 0 is the command byte.</param>
/// <param name="OutputPort">The output port (bit 0 reset, bit 1 A20).</param>
/// <param name="OutputBuffer">The output buffer (port 60h read).</param>
/// <param name="OutputBufferFull">Status bit 0.</param>
/// <param name="OutputBufferFromAux">Status bit 5: the byte came from the auxiliary device.</param>
/// <param name="PendingCommand">The controller command waiting for its data byte, or 0.</param>
/// <param name="LastWriteWasCommand">Status bit 3.</param>
/// <param name="TranslateBreakPending">Whether translation saw F0h and will set bit 7 of the next byte.</param>
/// <param name="ControllerQueue">Controller responses waiting for the output buffer; bit 8 marks auxiliary data.</param>
/// <param name="DeliveryDeadline">When the next device byte may enter the output buffer, <see cref="long.MaxValue"/> when not waiting.</param>
/// <param name="Keyboard">The keyboard.</param>
/// <param name="Mouse">The mouse.</param>
public sealed record KeyboardController8042State(
    int Version,
    byte[] Ram,
    byte OutputPort,
    byte OutputBuffer,
    bool OutputBufferFull,
    bool OutputBufferFromAux,
    byte PendingCommand,
    bool LastWriteWasCommand,
    bool TranslateBreakPending,
    ushort[] ControllerQueue,
    long DeliveryDeadline,
    Ps2KeyboardState Keyboard,
    Ps2MouseState Mouse)
{
    /// <summary>The version this build writes.</summary>
    public const int CurrentVersion = 1;

    /// <summary>Compares every field, arrays by value.</summary>
    /// <param name="other">The other record.</param>
    /// <returns>Whether both describe the same state.</returns>
    public bool Equals(KeyboardController8042State? other) =>
        other is not null && Version == other.Version && Ram.AsSpan().SequenceEqual(other.Ram) &&
        OutputPort == other.OutputPort && OutputBuffer == other.OutputBuffer && OutputBufferFull == other.OutputBufferFull &&
        OutputBufferFromAux == other.OutputBufferFromAux && PendingCommand == other.PendingCommand &&
        LastWriteWasCommand == other.LastWriteWasCommand && TranslateBreakPending == other.TranslateBreakPending &&
        ControllerQueue.AsSpan().SequenceEqual(other.ControllerQueue) && DeliveryDeadline == other.DeliveryDeadline &&
        Keyboard.Equals(other.Keyboard) && Mouse.Equals(other.Mouse);

    /// <summary>A hash over the main fields.</summary>
    /// <returns>The hash.</returns>
    public override int GetHashCode()
    {
        var hash = new HashCode();
        hash.AddBytes(Ram);
        hash.Add(OutputPort);
        hash.Add(OutputBuffer);
        hash.Add(Keyboard);
        hash.Add(Mouse);
        return hash.ToHashCode();
    }
}
