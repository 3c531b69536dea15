namespace Virt.Devices;

/// <summary>
/// The saved state of one IDE drive: its copy of the task file, its settings, the transfer in progress and, for a
/// CD-ROM drive, its sense data and tray. The medium's contents are not part of it (they live in the host's block
/// device).
/// </summary>
/// <param name="Media">The drive's kind (a restore onto a drive of the other kind is refused).</param>
/// <param name="Registers">The task file: features, sector count, LBA low, mid, high (then their previous values, the HOB copies), device, status, error; 13 bytes.</param>
/// <param name="MultipleCount">The sectors per DRQ block of READ/WRITE MULTIPLE (0 when multiple mode is off).</param>
/// <param name="LogicalHeads">The heads of the CHS translation (INITIALIZE DEVICE PARAMETERS).</param>
/// <param name="LogicalSectorsPerTrack">The sectors per track of the CHS translation.</param>
/// <param name="TransferMode">The transfer mode selected with SET FEATURES (the sector count value of subcommand 03h).</param>
/// <param name="WriteCacheEnabled">Whether the write cache is enabled (IDENTIFY word 85 bit 5).</param>
/// <param name="Phase">The transfer in progress.</param>
/// <param name="Command">The command in progress.</param>
/// <param name="Buffer">The unread (PIO in) or received (PIO out, packet) bytes of the current data block.</param>
/// <param name="BufferPosition">How far the guest has come in the current block.</param>
/// <param name="BufferLength">The size of the current block.</param>
/// <param name="BlockSectors">The sectors per DRQ block of the ATA command in progress.</param>
/// <param name="NextLba">The next sector (ATA) or block (ATAPI) the drive reads or writes.</param>
/// <param name="RemainingSectors">The sectors (blocks) still to be read from or written to the medium.</param>
/// <param name="DmaBytesLeft">The bytes the bus master (or ATAPI PIO) still has to move for the command.</param>
/// <param name="Staging">The bytes read ahead from the medium (or an ATAPI reply) not yet handed to the guest, or received and not yet written.</param>
/// <param name="SenseKey">ATAPI: the sense key of the last command.</param>
/// <param name="AdditionalSenseCode">ATAPI: the additional sense code.</param>
/// <param name="AdditionalSenseCodeQualifier">ATAPI: its qualifier.</param>
/// <param name="UnitAttention">ATAPI: a medium change not yet reported to the guest.</param>
/// <param name="MediumLocked">ATAPI: PREVENT ALLOW MEDIUM REMOVAL prevents ejection.</param>
/// <param name="MediaEvent">ATAPI: the media event GET EVENT STATUS NOTIFICATION reports next.</param>
/// <param name="ByteCountLimit">ATAPI: the byte count limit of the packet command in progress.</param>
/// <param name="TrayOpen">ATAPI: the guest ejected the medium.</param>
public sealed record IdeDriveState(
    IdeMediaKind Media,
    byte[] Registers,
    int MultipleCount,
    int LogicalHeads,
    int LogicalSectorsPerTrack,
    byte TransferMode,
    bool WriteCacheEnabled,
    IdeTransferPhase Phase,
    byte Command,
    byte[] Buffer,
    int BufferPosition,
    int BufferLength,
    int BlockSectors,
    long NextLba,
    long RemainingSectors,
    long DmaBytesLeft,
    byte[] Staging,
    byte SenseKey,
    byte AdditionalSenseCode,
    byte AdditionalSenseCodeQualifier,
    bool UnitAttention,
    bool MediumLocked,
    byte MediaEvent,
    int ByteCountLimit,
    bool TrayOpen)
{
    /// <summary>The number of bytes in <see cref="Registers"/>.</summary>
    public const int RegisterCount = 13;
}
