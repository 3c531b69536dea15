namespace Virt.Devices;

/// <summary>The saved state of a <see cref="Uart16550"/>. Timer deadlines are absolute guest times, <see cref="long.MaxValue"/> when idle.</summary>
/// <param name="Version">The record version, <see cref="CurrentVersion"/>.</param>
/// <param name="Ier">Interrupt enable register (bits 0-3).</param>
/// <param name="Lcr">Line control register.</param>
/// <param name="Mcr">Modem control register (bits 0-4).</param>
/// <param name="Fcr">The retained FIFO control bits: 0 (enable), 3 (DMA mode), 6-7 (receiver trigger).</param>
/// <param name="LsrErrors">Pending line status error bits (1 OE, 2 PE, 3 FE, 4 BI), cleared by reading LSR.</param>
/// <param name="MsrDeltas">Pending modem status change bits (0-3), cleared by reading MSR.</param>
/// <param name="Scratch">Scratch register.</param>
/// <param name="Divisor">Divisor latch (DLM:DLL).</param>
/// <param name="ReceiveFifo">Received characters, oldest first (at most 16).</param>
/// <param name="TransmitFifo">Characters waiting to transmit, oldest first (at most 16).</param>
/// <param name="TransmitShiftFull">Whether the transmitter shift register holds a character.</param>
/// <param name="TransmitShift">The character in the transmitter shift register.</param>
/// <param name="TransmitShiftBlocked">Whether that character is shifted out and waits for the host to take it.</param>
/// <param name="ThrEmptyInterruptPending">Whether the THR empty interrupt is pending.</param>
/// <param name="TimeoutPending">Whether the character timeout indication is pending.</param>
/// <param name="LastReceived">The value a read of an empty RBR returns.</param>
/// <param name="TransmitDeadline">Transmitter timer deadline.</param>
/// <param name="ReceiveDeadline">Receiver poll/pacing timer deadline.</param>
/// <param name="TimeoutDeadline">Character timeout timer deadline.</param>
public sealed record Uart16550State(
    int Version,
    byte Ier,
    byte Lcr,
    byte Mcr,
    byte Fcr,
    byte LsrErrors,
    byte MsrDeltas,
    byte Scratch,
    ushort Divisor,
    byte[] ReceiveFifo,
    byte[] TransmitFifo,
    bool TransmitShiftFull,
    byte TransmitShift,
    bool TransmitShiftBlocked,
    bool ThrEmptyInterruptPending,
    bool TimeoutPending,
    byte LastReceived,
    long TransmitDeadline,
    long ReceiveDeadline,
    long TimeoutDeadline)
{
    /// <summary>The version this build writes.</summary>
    public const int CurrentVersion = 1;

    /// <summary>Compares every field, the FIFO contents by value.</summary>
    /// <param name="other">The other record.</param>
    /// <returns>Whether both describe the same state.</returns>
    public bool Equals(Uart16550State? other) =>
        other is not null && Version == other.Version && Ier == other.Ier && Lcr == other.Lcr && Mcr == other.Mcr &&
        Fcr == other.Fcr && LsrErrors == other.LsrErrors && MsrDeltas == other.MsrDeltas && Scratch == other.Scratch &&
        Divisor == other.Divisor && ReceiveFifo.AsSpan().SequenceEqual(other.ReceiveFifo) &&
        TransmitFifo.AsSpan().SequenceEqual(other.TransmitFifo) && TransmitShiftFull == other.TransmitShiftFull &&
        TransmitShift == other.TransmitShift && TransmitShiftBlocked == other.TransmitShiftBlocked &&
        ThrEmptyInterruptPending == other.ThrEmptyInterruptPending && TimeoutPending == other.TimeoutPending &&
        LastReceived == other.LastReceived && TransmitDeadline == other.TransmitDeadline &&
        ReceiveDeadline == other.ReceiveDeadline && TimeoutDeadline == other.TimeoutDeadline;

    /// <summary>A hash over the registers and FIFO contents.</summary>
    /// <returns>The hash.</returns>
    public override int GetHashCode()
    {
        var hash = new HashCode();
        hash.Add(Version);
        hash.Add(Ier);
        hash.Add(Lcr);
        hash.Add(Mcr);
        hash.Add(Fcr);
        hash.Add(Divisor);
        hash.AddBytes(ReceiveFifo);
        hash.AddBytes(TransmitFifo);
        hash.Add(TransmitDeadline);
        return hash.ToHashCode();
    }
}
