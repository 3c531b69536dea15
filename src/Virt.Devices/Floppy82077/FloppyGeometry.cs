namespace Virt.Devices;

/// <summary>
/// A floppy medium's layout, told from its image size as PC BIOSes and QEMU tell it: cylinders, heads, sectors per track
/// of 512 bytes, the data rate it is recorded at (what the controller's CCR must select to read it) and the drive type
/// that holds it (CMOS byte 10h).
/// </summary>
/// <param name="Cylinders">Cylinders (tracks per side).</param>
/// <param name="Heads">Heads (sides), 1 or 2.</param>
/// <param name="SectorsPerTrack">Sectors per track.</param>
/// <param name="DataRate">The CCR/DSR data-rate code: 0 = 500 kbit/s, 1 = 300, 2 = 250, 3 = 1 Mbit/s.</param>
/// <param name="DriveType">The drive the medium goes in.</param>
public sealed record FloppyGeometry(int Cylinders, int Heads, int SectorsPerTrack, int DataRate, CmosFloppyDriveType DriveType)
{
    /// <summary>The sector size of every supported medium.</summary>
    public const int SectorSizeInBytes = 512;

    /// <summary>Data-rate code for 500 kbit/s (1.2 MB and 1.44 MB media).</summary>
    public const int Rate500Kbps = 0;

    /// <summary>Data-rate code for 300 kbit/s (360 KB and 180 KB media in a 1.2 MB drive).</summary>
    public const int Rate300Kbps = 1;

    /// <summary>Data-rate code for 250 kbit/s (720 KB, 320 KB and 160 KB media).</summary>
    public const int Rate250Kbps = 2;

    /// <summary>Data-rate code for 1 Mbit/s (2.88 MB media).</summary>
    public const int Rate1Mbps = 3;

    // The rates are those of SeaBIOS's media table (floppy.c, FloppyInfo), which its media sense tries in turn with READ ID.
    private static readonly FloppyGeometry[] s_known =
    [
        new(40, 1, 8, Rate250Kbps, CmosFloppyDriveType.Drive360K),
        new(40, 1, 9, Rate300Kbps, CmosFloppyDriveType.Drive360K),
        new(40, 2, 8, Rate250Kbps, CmosFloppyDriveType.Drive360K),
        new(40, 2, 9, Rate300Kbps, CmosFloppyDriveType.Drive360K),
        new(80, 2, 9, Rate250Kbps, CmosFloppyDriveType.Drive720K),
        new(80, 2, 15, Rate500Kbps, CmosFloppyDriveType.Drive1200K),
        new(80, 2, 18, Rate500Kbps, CmosFloppyDriveType.Drive1440K),
        new(80, 2, 36, Rate1Mbps, CmosFloppyDriveType.Drive2880K),
    ];

    /// <summary>The supported media: 160 KB, 180 KB, 320 KB, 360 KB, 720 KB, 1.2 MB, 1.44 MB and 2.88 MB.</summary>
    public static IReadOnlyList<FloppyGeometry> Known => s_known;

    /// <summary>The medium's capacity in bytes.</summary>
    public long CapacityInBytes => (long)Cylinders * Heads * SectorsPerTrack * SectorSizeInBytes;

    /// <summary>The number of sectors.</summary>
    public int SectorCount => Cylinders * Heads * SectorsPerTrack;

    /// <summary>The geometry of an image of <paramref name="capacityInBytes"/> bytes.</summary>
    /// <param name="capacityInBytes">The image size.</param>
    /// <returns>The geometry.</returns>
    /// <exception cref="ArgumentException">When the size is not one of the supported media.</exception>
    public static FloppyGeometry FromCapacity(long capacityInBytes)
    {
        foreach (FloppyGeometry g in s_known)
        {
            if (g.CapacityInBytes == capacityInBytes)
            {
                return g;
            }
        }

        throw new ArgumentException(
            $"A floppy image of {capacityInBytes} bytes matches no supported medium (sizes: {string.Join(", ", s_known.Select(g => g.CapacityInBytes))} bytes).",
            nameof(capacityInBytes));
    }
}
