namespace Virt.Devices;

/// <summary>The saved state of an <see cref="EduDevice"/>: its configuration space, registers, DMA buffer and pending work.</summary>
/// <param name="Version">The record version (<see cref="CurrentVersion"/>).</param>
/// <param name="Configuration">The PCI configuration space.</param>
/// <param name="Liveness">The liveness register (the inverse of the last value written).</param>
/// <param name="Factorial">The factorial register.</param>
/// <param name="Status">The status register.</param>
/// <param name="InterruptStatus">The interrupt status register.</param>
/// <param name="DmaSource">The DMA source address.</param>
/// <param name="DmaDestination">The DMA destination address.</param>
/// <param name="DmaCount">The DMA transfer count.</param>
/// <param name="DmaCommand">The DMA command register.</param>
/// <param name="Buffer">The 4 KiB DMA buffer.</param>
/// <param name="FactorialDeadlineNanoseconds">When the running factorial computation completes, or null.</param>
/// <param name="DmaDeadlineNanoseconds">When the running DMA transfer completes, or null.</param>
public sealed record EduDeviceState(
    int Version,
    PciConfigurationState Configuration,
    uint Liveness,
    uint Factorial,
    uint Status,
    uint InterruptStatus,
    ulong DmaSource,
    ulong DmaDestination,
    ulong DmaCount,
    ulong DmaCommand,
    byte[] Buffer,
    long? FactorialDeadlineNanoseconds,
    long? DmaDeadlineNanoseconds)
{
    /// <summary>The version this build writes and reads.</summary>
    public const int CurrentVersion = 1;

    /// <summary>Compares every field, the buffer by content.</summary>
    /// <param name="other">The other record.</param>
    /// <returns>Whether they are equal.</returns>
    public bool Equals(EduDeviceState? other) =>
        other is not null && Version == other.Version && Configuration == other.Configuration && Liveness == other.Liveness &&
        Factorial == other.Factorial && Status == other.Status && InterruptStatus == other.InterruptStatus &&
        DmaSource == other.DmaSource && DmaDestination == other.DmaDestination && DmaCount == other.DmaCount &&
        DmaCommand == other.DmaCommand && Buffer.AsSpan().SequenceEqual(other.Buffer) &&
        FactorialDeadlineNanoseconds == other.FactorialDeadlineNanoseconds && DmaDeadlineNanoseconds == other.DmaDeadlineNanoseconds;

    /// <summary>A hash over the fields and the buffer.</summary>
    /// <returns>The hash.</returns>
    public override int GetHashCode()
    {
        var hash = new HashCode();
        hash.Add(Version);
        hash.Add(Configuration);
        hash.Add(Factorial);
        hash.Add(Status);
        hash.Add(InterruptStatus);
        hash.Add(DmaSource);
        hash.Add(DmaCommand);
        hash.AddBytes(Buffer);
        hash.Add(FactorialDeadlineNanoseconds);
        hash.Add(DmaDeadlineNanoseconds);
        return hash.ToHashCode();
    }
}
