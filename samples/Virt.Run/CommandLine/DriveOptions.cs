namespace Virt.Run.CommandLine;

/// <summary>
/// One drive from <c>-hda</c>/<c>-hdb</c>/<c>-hdc</c>/<c>-hdd</c>, <c>-fda</c>/<c>-fdb</c>, <c>-cdrom</c> or <c>-drive</c>, as
/// <see cref="RunOptionsParser"/> resolved it: the interface and index are final (QEMU's defaults applied), the format is
/// null when it is to be probed from the file.
/// </summary>
public sealed record DriveOptions
{
    /// <summary>The option the drive came from, as the user wrote it (<c>-hda</c>, <c>-cdrom</c>, <c>-drive</c>), for messages.</summary>
    public required string Option { get; init; }

    /// <summary>The image file.</summary>
    public required string Path { get; init; }

    /// <summary>The controller.</summary>
    public DriveInterface Interface { get; init; } = DriveInterface.Ide;

    /// <summary>The position on the controller: IDE 0 to 3 (<c>-hda</c> to <c>-hdd</c>), floppy 0 or 1.</summary>
    public int Index { get; init; }

    /// <summary>A disk or a CD-ROM.</summary>
    public DriveMedia Media { get; init; } = DriveMedia.Disk;

    /// <summary>The image format, or null to probe it from the file's first bytes (as QEMU does when <c>format=</c> is absent).</summary>
    public DriveFormat? Format { get; init; }

    /// <summary>Whether the guest may not write (<c>readonly=on</c>; always so for a CD-ROM).</summary>
    public bool ReadOnly { get; init; }

    /// <summary>How messages name the drive: the option and the file, <c>-hda 'disk.img'</c>.</summary>
    public string Describe() => $"{Option} '{Path}'";
}
