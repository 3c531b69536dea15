namespace Virt.Devices;

/// <summary>The saved state of one drive select of a <see cref="Floppy82077"/> (its medium is a host resource, not saved).</summary>
/// <param name="Cylinder">The present cylinder number (PCN): where the head is.</param>
/// <param name="Head">The head last used.</param>
/// <param name="NextSector">The sector READ ID finds next under the head (1-based).</param>
/// <param name="DiskChanged">The DIR disk-change bit.</param>
/// <param name="SeekTarget">The cylinder a seek in progress goes to, or -1 when none.</param>
/// <param name="SeekDeadlineNanoseconds">When the seek in progress ends (guest time).</param>
/// <param name="SeekStatus">The ST0 the seek in progress reports.</param>
/// <param name="PendingStatus">The ST0 a SENSE INTERRUPT STATUS reports for the drive, or -1 when none.</param>
public sealed record FloppyDriveState(int Cylinder, int Head, int NextSector, bool DiskChanged, int SeekTarget, long SeekDeadlineNanoseconds, int SeekStatus, int PendingStatus);
