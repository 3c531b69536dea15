namespace Virt.Devices;

/// <summary>One drive on an IDE channel: its kind and its medium (the host's block device).</summary>
/// <param name="Media">A disk or a CD-ROM drive.</param>
/// <param name="Medium">
/// The host backend. A disk needs one with 512-byte sectors; a CD-ROM drive may start empty (null) and reads its
/// medium in 2048-byte blocks (a trailing partial block of the image is not visible to the guest).
/// </param>
public sealed record IdeDriveConfiguration(IdeMediaKind Media, IBlockDevice? Medium)
{
    /// <summary>The sector size an ATA disk's backend must have.</summary>
    public const int DiskSectorSize = 512;

    /// <summary>The block size of CD media.</summary>
    public const int CdromBlockSize = 2048;

    /// <summary>The fewest bytes a disk may hold (one sector).</summary>
    internal const long MinimumDiskCapacity = DiskSectorSize;

    /// <summary>Throws when the configuration cannot work: a disk without a medium or with sectors other than 512 bytes.</summary>
    /// <param name="what">Where the configuration came from, for the message (for example <c>"WithIdeDrive(0)"</c>).</param>
    public void Validate(string what)
    {
        if (!Enum.IsDefined(Media))
        {
            throw new ArgumentOutOfRangeException(nameof(Media), Media, $"{what}: unknown IDE media kind.");
        }

        if (Media == IdeMediaKind.Disk)
        {
            if (Medium is null)
            {
                throw new ArgumentException($"{what}: an IDE disk needs a block device.", nameof(Medium));
            }

            if (Medium.SectorSize != DiskSectorSize)
            {
                throw new ArgumentException($"{what}: '{Medium.Name}' has {Medium.SectorSize}-byte sectors; an IDE disk needs {DiskSectorSize}-byte sectors.", nameof(Medium));
            }

            if (Medium.CapacityInBytes < MinimumDiskCapacity)
            {
                throw new ArgumentException($"{what}: '{Medium.Name}' is empty; an IDE disk needs at least one sector.", nameof(Medium));
            }
        }
        else if (Medium is not null && CdromBlockSize % Medium.SectorSize != 0)
        {
            throw new ArgumentException($"{what}: '{Medium.Name}' has {Medium.SectorSize}-byte sectors, which do not divide the {CdromBlockSize}-byte CD block.", nameof(Medium));
        }
    }
}
