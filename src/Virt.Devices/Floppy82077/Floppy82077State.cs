namespace Virt.Devices;

/// <summary>The saved state of a <see cref="Floppy82077"/>. Equality compares the array contents.</summary>
/// <param name="Version">The record version, <see cref="CurrentVersion"/>.</param>
/// <param name="Dor">The digital output register.</param>
/// <param name="Tdr">The tape drive register.</param>
/// <param name="Dsr">The data-rate select register's precompensation and power-down bits.</param>
/// <param name="DataRate">The data rate selected through the DSR or the CCR (0-3).</param>
/// <param name="Phase">The controller phase (command, busy, non-DMA execution, result, reset).</param>
/// <param name="Command">The command bytes received so far (9 bytes, zero-padded).</param>
/// <param name="CommandCount">How many command bytes were received.</param>
/// <param name="Result">The result bytes (10 bytes, zero-padded).</param>
/// <param name="ResultLength">How many result bytes there are.</param>
/// <param name="ResultIndex">How many the guest has read.</param>
/// <param name="InterruptPending">The INT output before the DOR's DMA gate.</param>
/// <param name="ResetSenses">How many of the four post-reset SENSE INTERRUPT STATUS results are left.</param>
/// <param name="Specify1">SPECIFY's first byte (step rate, head unload time).</param>
/// <param name="Specify2">SPECIFY's second byte (head load time, ND).</param>
/// <param name="Configure">CONFIGURE's configuration byte (EIS, EFIFO, POLL, FIFOTHR).</param>
/// <param name="Pretrack">CONFIGURE's precompensation start track.</param>
/// <param name="Locked">The LOCK bit.</param>
/// <param name="Perpendicular">PERPENDICULAR MODE's byte (drive bits, GAP, WGATE).</param>
/// <param name="Operation">The data command in progress (none, read, write, read track, format, read ID).</param>
/// <param name="Drive">The drive of the data command in progress.</param>
/// <param name="PhysicalHead">The head the data command works on.</param>
/// <param name="Cylinder">The C of the sector ID in progress.</param>
/// <param name="HeadId">The H of the sector ID in progress.</param>
/// <param name="SectorId">The R of the sector ID in progress.</param>
/// <param name="SizeCode">The N of the sector ID in progress.</param>
/// <param name="EndOfTrack">The EOT byte of the command.</param>
/// <param name="MultiTrack">The MT bit of the command.</param>
/// <param name="AwaitingDma">Whether the controller holds DREQ for the data command in progress.</param>
/// <param name="Sector">The sector buffer of a non-DMA transfer (512 bytes).</param>
/// <param name="SectorPosition">The next byte of <paramref name="Sector"/>.</param>
/// <param name="FormatRemaining">Sector IDs FORMAT TRACK still expects.</param>
/// <param name="FormatFiller">FORMAT TRACK's filler byte.</param>
/// <param name="FormatError">The ST1 error of a FORMAT TRACK in progress, 0 when none.</param>
/// <param name="PendingEvent">What the command timer completes (none, execution, end of reset).</param>
/// <param name="PendingDeadlineNanoseconds">When it completes.</param>
/// <param name="Drives">The four drive selects.</param>
public sealed record Floppy82077State(
    int Version,
    byte Dor,
    byte Tdr,
    byte Dsr,
    int DataRate,
    int Phase,
    byte[] Command,
    int CommandCount,
    byte[] Result,
    int ResultLength,
    int ResultIndex,
    bool InterruptPending,
    int ResetSenses,
    byte Specify1,
    byte Specify2,
    byte Configure,
    byte Pretrack,
    bool Locked,
    byte Perpendicular,
    int Operation,
    int Drive,
    int PhysicalHead,
    byte Cylinder,
    byte HeadId,
    byte SectorId,
    byte SizeCode,
    byte EndOfTrack,
    bool MultiTrack,
    bool AwaitingDma,
    byte[] Sector,
    int SectorPosition,
    int FormatRemaining,
    byte FormatFiller,
    byte FormatError,
    int PendingEvent,
    long PendingDeadlineNanoseconds,
    FloppyDriveState[] Drives)
{
    /// <summary>The version this library writes.</summary>
    public const int CurrentVersion = 1;

    /// <inheritdoc/>
    public bool Equals(Floppy82077State? other) =>
        other is not null
        && Version == other.Version && Dor == other.Dor && Tdr == other.Tdr && Dsr == other.Dsr && DataRate == other.DataRate
        && Phase == other.Phase && Command.AsSpan().SequenceEqual(other.Command) && CommandCount == other.CommandCount
        && Result.AsSpan().SequenceEqual(other.Result) && ResultLength == other.ResultLength && ResultIndex == other.ResultIndex
        && InterruptPending == other.InterruptPending && ResetSenses == other.ResetSenses && Specify1 == other.Specify1
        && Specify2 == other.Specify2 && Configure == other.Configure && Pretrack == other.Pretrack && Locked == other.Locked
        && Perpendicular == other.Perpendicular && Operation == other.Operation && Drive == other.Drive
        && PhysicalHead == other.PhysicalHead && Cylinder == other.Cylinder && HeadId == other.HeadId && SectorId == other.SectorId
        && SizeCode == other.SizeCode && EndOfTrack == other.EndOfTrack && MultiTrack == other.MultiTrack
        && AwaitingDma == other.AwaitingDma && Sector.AsSpan().SequenceEqual(other.Sector) && SectorPosition == other.SectorPosition
        && FormatRemaining == other.FormatRemaining && FormatFiller == other.FormatFiller && FormatError == other.FormatError && PendingEvent == other.PendingEvent
        && PendingDeadlineNanoseconds == other.PendingDeadlineNanoseconds && Drives.SequenceEqual(other.Drives);

    /// <inheritdoc/>
    public override int GetHashCode()
    {
        var hash = new HashCode();
        hash.Add(Version);
        hash.Add(Dor);
        hash.Add(Phase);
        hash.AddBytes(Command);
        hash.AddBytes(Result);
        hash.AddBytes(Sector);
        hash.Add(PendingDeadlineNanoseconds);
        foreach (FloppyDriveState drive in Drives)
        {
            hash.Add(drive);
        }

        return hash.ToHashCode();
    }
}
