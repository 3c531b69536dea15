namespace Virt.Run.CommandLine;

/// <summary>What a drive holds (QEMU's <c>media=</c>).</summary>
public enum DriveMedia
{
    /// <summary>A hard disk or a floppy disk: 512-byte sectors, writable unless <c>readonly=on</c>.</summary>
    Disk,

    /// <summary>A CD-ROM (an ATAPI drive on IDE): 2048-byte sectors, always read-only.</summary>
    Cdrom,
}
