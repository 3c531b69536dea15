using System.Buffers.Binary;

namespace Virt.Devices;

/// <summary>
/// The 256 words of IDENTIFY DEVICE and IDENTIFY PACKET DEVICE (ATA/ATAPI-7 volume 1, 6.16 and 6.17), as a PIIX-era
/// drive reports them: CHS geometry, LBA28 and LBA48 capacity, PIO 0-4, multiword DMA 0-2 and Ultra DMA 0-5, the
/// serial number, firmware revision and model strings, and the integrity word.
/// </summary>
internal static class IdeIdentify
{
    public const int SizeInBytes = 512;

    private const int WordCount = 256;
    private const string FirmwareRevision = "1.0";
    private const string DiskModel = "VIRT HARDDISK";
    private const string CdromModel = "VIRT DVD-ROM";
    private const long Lba28Limit = 0x0FFF_FFFF;
    private const ushort MustBeOne = 0x4000;
    private const ushort IntegritySignature = 0xA5;

    public static void Build(IdeDrive drive, Span<byte> destination)
    {
        Span<ushort> w = stackalloc ushort[WordCount];
        w.Clear();
        string serial = "VT" + (drive.Position + 1).ToString("D8", System.Globalization.CultureInfo.InvariantCulture);
        PutString(w, 10, 20, serial);
        PutString(w, 23, 8, FirmwareRevision);
        if (drive.IsAtapi)
        {
            BuildPacket(drive, w);
        }
        else
        {
            BuildDisk(drive, w);
        }

        PutTransferModes(drive, w);

        // Word 93: hardware reset result, device 0 or 1 passed, and an 80-conductor cable (bit 13).
        w[93] = (ushort)(MustBeOne | 0x2000 | ((drive.Position & 1) == 0 ? 0x0001 : 0x0100));

        // Word 255: A5h and a checksum that makes the 512 bytes sum to zero (7.16.7.91).
        w[255] = IntegritySignature;
        int sum = 0;
        for (int i = 0; i < WordCount; i++)
        {
            sum += (w[i] & 0xFF) + (w[i] >> 8);
        }

        w[255] |= (ushort)(((-sum) & 0xFF) << 8);
        for (int i = 0; i < WordCount; i++)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(destination[(2 * i)..], w[i]);
        }
    }

    private static void BuildDisk(IdeDrive drive, Span<ushort> w)
    {
        long total = drive.TotalSectors;
        w[0] = 0x0040;                                    // fixed device
        w[1] = (ushort)drive.Cylinders;
        w[3] = IdeDrive.DefaultHeads;
        w[4] = IdeDrive.DefaultSectorsPerTrack * 512;     // retired: unformatted bytes per track
        w[5] = 512;                                       // retired: unformatted bytes per sector
        w[6] = IdeDrive.DefaultSectorsPerTrack;
        w[20] = 3;                                        // retired: buffer type (dual ported, read cache)
        w[21] = 512;                                      // retired: buffer size in sectors
        w[22] = 4;                                        // retired: ECC bytes of READ/WRITE LONG
        PutString(w, 27, 40, DiskModel);
        w[47] = 0x8000 | IdeDrive.MaximumMultipleCount;
        w[48] = 1;                                        // retired: doubleword I/O
        w[49] = 0x0B00;                                   // IORDY supported (11), LBA (9), DMA (8)
        w[51] = 0x0200;                                   // retired: PIO timing mode 2
        w[52] = 0x0200;                                   // retired: DMA timing mode 2
        w[53] = 0x0007;                                   // words 54-58, 64-70 and 88 are valid

        // Words 54-58: the current CHS translation (INITIALIZE DEVICE PARAMETERS).
        int heads = drive.LogicalHeads;
        int sectors = drive.LogicalSectorsPerTrack;
        long cylinders = Math.Min(total / (heads * sectors), 0xFFFF);
        long chsCapacity = cylinders * heads * sectors;
        w[54] = (ushort)cylinders;
        w[55] = (ushort)heads;
        w[56] = (ushort)sectors;
        w[57] = (ushort)chsCapacity;
        w[58] = (ushort)(chsCapacity >> 16);
        w[59] = (ushort)(drive.MultipleCount != 0 ? 0x0100 | drive.MultipleCount : 0);
        long lba28 = Math.Min(total, Lba28Limit);
        w[60] = (ushort)lba28;
        w[61] = (ushort)(lba28 >> 16);
        w[80] = 0x00F0;                                   // ATA/ATAPI-4 to -7
        w[81] = 0x0016;
        w[82] = MustBeOne | 0x0040 | 0x0020 | 0x0008;     // NOP, look-ahead, write cache, power management
        w[83] = MustBeOne | 0x2000 | 0x1000 | 0x0400;     // FLUSH CACHE EXT, FLUSH CACHE, 48-bit addresses
        w[84] = MustBeOne;
        w[85] = (ushort)(MustBeOne | 0x0040 | (drive.WriteCacheEnabled ? 0x0020 : 0) | 0x0008);
        w[86] = 0x2000 | 0x1000 | 0x0400;
        w[87] = MustBeOne;
        w[100] = (ushort)total;
        w[101] = (ushort)(total >> 16);
        w[102] = (ushort)(total >> 32);
        w[103] = (ushort)(total >> 48);
    }

    private static void BuildPacket(IdeDrive drive, Span<ushort> w)
    {
        // Word 0: ATAPI (10b), CD-ROM device type 05h, removable, DRQ within 50 us of PACKET (no interrupt before the packet), 12-byte packets.
        w[0] = (2 << 14) | (MmcCommands.PeripheralTypeCdDvd << 8) | 0x0080 | (2 << 5);
        PutString(w, 27, 40, CdromModel);
        w[48] = 1;
        w[49] = 0x0B00;                                   // IORDY, LBA, DMA
        w[53] = 0x0007;
        w[71] = 30;                                       // typical time from PACKET to bus release (ns)
        w[72] = 30;                                       // typical time from SERVICE to BSY cleared (ns)
        w[80] = 0x001E;                                   // ATA/ATAPI-1 to -4
        w[82] = MustBeOne | 0x0010;                       // NOP, PACKET feature set
        w[83] = MustBeOne;
        w[84] = MustBeOne;
        w[85] = MustBeOne | 0x0010;
        w[87] = MustBeOne;
    }

    /// <summary>Words 62-68 and 88: the modes supported, with the one SET FEATURES selected marked.</summary>
    private static void PutTransferModes(IdeDrive drive, Span<ushort> w)
    {
        byte mode = drive.TransferMode;
        int number = mode & AtaCommands.TransferModeNumberMask;
        int type = mode & AtaCommands.TransferModeTypeMask;
        w[62] = 0x0007;                                   // retired: single-word DMA 0-2
        w[63] = (ushort)(0x0007 | (type == AtaCommands.TransferModeMultiwordDma ? 0x100 << number : 0));
        w[64] = 0x0003;                                   // PIO 3 and 4
        w[65] = 120;                                      // minimum multiword DMA cycle (ns)
        w[66] = 120;                                      // recommended multiword DMA cycle
        w[67] = 120;                                      // minimum PIO cycle without IORDY
        w[68] = 120;                                      // minimum PIO cycle with IORDY
        w[88] = (ushort)(0x003F | (type == AtaCommands.TransferModeUltraDma ? 0x100 << number : 0));
    }

    /// <summary>An ATA string: ASCII padded with spaces, two characters a word, the first in the high byte.</summary>
    private static void PutString(Span<ushort> w, int firstWord, int lengthInChars, string text)
    {
        for (int i = 0; i < lengthInChars; i += 2)
        {
            char high = i < text.Length ? text[i] : ' ';
            char low = i + 1 < text.Length ? text[i + 1] : ' ';
            w[firstWord + (i / 2)] = (ushort)((high << 8) | low);
        }
    }
}
