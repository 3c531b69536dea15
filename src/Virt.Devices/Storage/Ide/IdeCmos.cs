namespace Virt.Devices;

/// <summary>
/// The CMOS bytes that describe IDE disks to a BIOS, as QEMU's <c>pc</c> machines fill them: the AT drive types of the
/// primary master and slave (type 47, user-defined, with cylinders, heads and sectors per track) and the CHS
/// translation of all four positions that SeaBIOS reads (none for disks up to 1024 cylinders, LBA above).
/// </summary>
public static class IdeCmos
{
    private const byte ExtendedTypeInNibble = 0x0F;
    private const byte UserDefinedType = 47;
    private const byte NoWritePrecompensation = 0xFF;
    private const byte ControlByteBase = 0xC0;       // disable retries (bits 7-6), as AT BIOSes store it
    private const byte ControlMoreThanEightHeads = 0x08;
    private const int BiosCylinderLimit = 1024;
    private const int TranslationNone = 0;
    private const int TranslationLba = 1;

    /// <summary>Writes the drive types, parameters and translations of <paramref name="drives"/> and updates the checksum.</summary>
    /// <param name="rtc">The CMOS.</param>
    /// <param name="drives">The drives by position (0-3); CD-ROM drives and empty positions are left out.</param>
    public static void Write(Rtc146818 rtc, IReadOnlyList<IdeDriveConfiguration?> drives)
    {
        ArgumentNullException.ThrowIfNull(rtc);
        ArgumentNullException.ThrowIfNull(drives);
        byte types = 0;
        byte translation = 0;
        for (int position = 0; position < Math.Min(drives.Count, Piix3IdeOptions.DrivePositions); position++)
        {
            if (drives[position] is not { Media: IdeMediaKind.Disk, Medium: { } medium })
            {
                continue;
            }

            long sectors = medium.CapacityInBytes / IdeDriveConfiguration.DiskSectorSize;
            int cylinders = (int)Math.Clamp(sectors / (IdeDrive.DefaultHeads * IdeDrive.DefaultSectorsPerTrack), 1, IdeDrive.MaximumCylinders);
            translation |= (byte)((cylinders <= BiosCylinderLimit ? TranslationNone : TranslationLba) << (2 * position));
            if (position > 1)
            {
                continue;
            }

            types |= (byte)(ExtendedTypeInNibble << (position == 0 ? 4 : 0));
            rtc.WriteCmos(position == 0 ? CmosLayout.HardDisk0ExtendedType : CmosLayout.HardDisk1ExtendedType, UserDefinedType);
            int p = position == 0 ? CmosLayout.HardDisk0Parameters : CmosLayout.HardDisk1Parameters;
            rtc.WriteCmos(p, (byte)cylinders);
            rtc.WriteCmos(p + 1, (byte)(cylinders >> 8));
            rtc.WriteCmos(p + 2, IdeDrive.DefaultHeads);
            rtc.WriteCmos(p + 3, NoWritePrecompensation);
            rtc.WriteCmos(p + 4, NoWritePrecompensation);
            rtc.WriteCmos(p + 5, (byte)(ControlByteBase | (IdeDrive.DefaultHeads > 8 ? ControlMoreThanEightHeads : 0)));
            rtc.WriteCmos(p + 6, (byte)cylinders);
            rtc.WriteCmos(p + 7, (byte)(cylinders >> 8));
            rtc.WriteCmos(p + 8, IdeDrive.DefaultSectorsPerTrack);
        }

        rtc.WriteCmos(CmosLayout.HardDiskTypes, types);
        rtc.WriteCmos(CmosLayout.IdeTranslation, translation);
        rtc.UpdateChecksum();
    }
}
