using System.Buffers.Binary;
using System.Text;
using Xunit;

namespace Virt.Devices.Tests.Storage.Ide;

/// <summary>The ATA commands of an IDE disk, driven through the PIIX3's legacy ports as SeaBIOS and ata_piix do.</summary>
public sealed class AtaCommandTests
{
    private const byte Ready = 0x50;      // DRDY | DSC
    private const byte Drq = 0x58;        // DRDY | DSC | DRQ
    private const byte ErrorStatus = 0x41; // DRDY | ERR

    private static int SectorNumber(byte[] data, int offset) => BinaryPrimitives.ReadInt32LittleEndian(data.AsSpan(offset));

    [Fact]
    public void PowerOnShowsTheAtaSignatureAndReady()
    {
        var rig = new IdeTestRig(IdeTestRig.Disk(IdeTestRig.NumberedDisk(64)));
        Assert.Equal(Ready, rig.Status());
        Assert.Equal(1, rig.Error());                        // diagnostic code: passed
        Assert.Equal(1, rig.Register(2));
        Assert.Equal(1, rig.Register(3));
        Assert.Equal(0, rig.Register(4));
        Assert.Equal(0, rig.Register(5));
    }

    [Fact]
    public void AnAbsentSlaveReadsZeroAndIgnoresCommands()
    {
        var rig = new IdeTestRig(IdeTestRig.Disk(IdeTestRig.NumberedDisk(64)));
        rig.Select(1);
        Assert.Equal(0, rig.Status());
        rig.Ports.WriteByte(0x1F2, 0x55);
        Assert.Equal(0, rig.Register(2));
        rig.Command(0xEC);
        Assert.Equal(0, rig.Status());
        Assert.Equal(1, rig.Ide.GuestErrorCount);
        Assert.False(rig.Irq14.IsAsserted);
    }

    [Fact]
    public void IdentifyDeviceReportsGeometryCapacityModesAndStrings()
    {
        const int sectors = 20 * 16 * 63 + 5; // 20 full cylinders and a bit
        var rig = new IdeTestRig(IdeTestRig.Disk(new MemoryBlockDevice(sectors * 512L)));
        ushort[] w = rig.Identify();
        Assert.Equal(0x0040, w[0]);
        Assert.Equal(20, w[1]);                          // cylinders = sectors / (16 x 63)
        Assert.Equal(16, w[3]);
        Assert.Equal(63, w[6]);
        Assert.Equal(0x8000 | 16, w[47]);                // READ/WRITE MULTIPLE up to 16 sectors
        Assert.Equal(0x0300, w[49] & 0x0300);            // LBA and DMA
        Assert.Equal(sectors, w[60] | (w[61] << 16));
        Assert.Equal(sectors, w[100] | (w[101] << 16));
        Assert.Equal(0x0400, w[83] & 0x0400);            // 48-bit addresses
        Assert.Equal(0x3000, w[83] & 0x3000);            // FLUSH CACHE and FLUSH CACHE EXT
        Assert.Equal(0x0007, w[63] & 0x0007);            // multiword DMA 0-2
        Assert.Equal(0x0003, w[64]);                     // PIO 3 and 4
        Assert.Equal(0x003F, w[88] & 0x00FF);            // Ultra DMA 0-5
        Assert.Equal("VIRT HARDDISK", AtaString(w, 27, 40));
        Assert.Equal("VT00000001", AtaString(w, 10, 20));
        Assert.Equal(0xA5, w[255] & 0xFF);
        int sum = w.Sum(x => (x & 0xFF) + (x >> 8));
        Assert.Equal(0, sum & 0xFF);                     // integrity word: the 512 bytes sum to zero
        Assert.Equal(Ready, rig.Status());               // the data is read, the drive is ready
        Assert.Equal(1, rig.Irq14.RisingEdges);
    }

    [Fact]
    public void ReadSectorsLba28GivesEachSectorAfterItsInterrupt()
    {
        var rig = new IdeTestRig(IdeTestRig.Disk(IdeTestRig.NumberedDisk(300)));
        rig.Lba28(0x20, 7, 3);
        for (int i = 0; i < 3; i++)
        {
            Assert.True(rig.Irq14.IsAsserted);
            Assert.Equal(Drq, rig.Status());              // reading status clears the interrupt
            Assert.False(rig.Irq14.IsAsserted);
            byte[] sector = rig.ReadData(512);
            Assert.Equal(7 + i, SectorNumber(sector, 0));
            Assert.Equal(7 + i, SectorNumber(sector, 508));
        }

        Assert.Equal(Ready, rig.Status());
        Assert.Equal(3, rig.Irq14.RisingEdges);          // one per DRQ block, none at the end of a PIO read
        Assert.Equal(9, rig.Register(3));                 // the last sector read
    }

    [Fact]
    public void ReadSectorsThroughDoublewordDataAccesses()
    {
        var rig = new IdeTestRig(IdeTestRig.Disk(IdeTestRig.NumberedDisk(16)));
        rig.Lba28(0x20, 5, 1);
        byte[] sector = rig.ReadDataDwords(512);
        Assert.Equal(5, SectorNumber(sector, 0));
        Assert.Equal(5, SectorNumber(sector, 256));
        Assert.Equal(Ready, rig.Status());
    }

    [Fact]
    public void ReadSectorsInChsModeUsesTheCurrentTranslation()
    {
        var rig = new IdeTestRig(IdeTestRig.Disk(IdeTestRig.NumberedDisk(4 * 16 * 63)));
        // C/H/S = 2/3/4 with 16 heads and 63 sectors: LBA (2 x 16 + 3) x 63 + 4 - 1 = 2208.
        rig.Ports.WriteByte(0x1F6, 0xA0 | 3);
        rig.Ports.WriteByte(0x1F2, 1);
        rig.Ports.WriteByte(0x1F3, 4);
        rig.Ports.WriteByte(0x1F4, 2);
        rig.Ports.WriteByte(0x1F5, 0);
        rig.Command(0x20);
        Assert.Equal(Drq, rig.Status());
        Assert.Equal(2208, SectorNumber(rig.ReadData(512), 0));

        // INITIALIZE DEVICE PARAMETERS: 8 heads, 32 sectors per track; C/H/S 2/3/4 is now (2 x 8 + 3) x 32 + 3 = 611.
        rig.Ports.WriteByte(0x1F6, 0xA0 | 7);
        rig.Ports.WriteByte(0x1F2, 32);
        rig.Command(0x91);
        Assert.Equal(Ready, rig.Status());
        ushort[] w = rig.Identify();
        Assert.Equal((8, 32), (w[55], w[56]));
        rig.Ports.WriteByte(0x1F6, 0xA0 | 3);
        rig.Ports.WriteByte(0x1F2, 1);
        rig.Ports.WriteByte(0x1F3, 4);
        rig.Ports.WriteByte(0x1F4, 2);
        rig.Ports.WriteByte(0x1F5, 0);
        rig.Command(0x20);
        Assert.Equal(611, SectorNumber(rig.ReadData(512), 0));

        // Sector 0 does not exist in CHS: IDNF.
        rig.Ports.WriteByte(0x1F6, 0xA0);
        rig.Ports.WriteByte(0x1F3, 0);
        rig.Command(0x20);
        Assert.Equal(ErrorStatus, rig.Status());
        Assert.Equal(0x10, rig.Error());
    }

    [Fact]
    public void WriteSectorsStoresEachBlockAndInterruptsAfterIt()
    {
        var disk = new MemoryBlockDevice(64 * 512);
        var rig = new IdeTestRig(IdeTestRig.Disk(disk));
        rig.Lba28(0x30, 10, 2);
        Assert.Equal(Drq, rig.AltStatus());
        Assert.False(rig.Irq14.IsAsserted);               // no interrupt before the first block of a PIO write
        rig.WriteData(Enumerable.Repeat((byte)0xAB, 512).ToArray());
        Assert.True(rig.Irq14.IsAsserted);
        Assert.Equal(Drq, rig.Status());
        rig.WriteData(Enumerable.Repeat((byte)0xCD, 512).ToArray());
        Assert.Equal(Ready, rig.Status());
        byte[] back = new byte[1024];
        disk.Read(10 * 512, back);
        Assert.All(back.AsSpan(0, 512).ToArray(), b => Assert.Equal(0xAB, b));
        Assert.All(back.AsSpan(512).ToArray(), b => Assert.Equal(0xCD, b));
    }

    [Fact]
    public void Lba48CommandsTakeTheHighOrderBytesAndReportThem()
    {
        var disk = new MemoryBlockDevice(70_000 * 512L);
        var rig = new IdeTestRig(IdeTestRig.Disk(disk));
        const long lba = 0x1_0203;                       // needs the high byte of LBA mid... and the HOB copies stay zero
        rig.Lba48(0x34, lba, 1);                          // WRITE SECTORS EXT
        rig.WriteData(Enumerable.Range(0, 512).Select(i => (byte)i).ToArray());
        Assert.Equal(Ready, rig.Status());
        byte[] back = new byte[512];
        disk.Read(lba * 512, back);
        Assert.Equal(Enumerable.Range(0, 512).Select(i => (byte)i), back);

        rig.Lba48(0x24, lba, 1);                          // READ SECTORS EXT
        Assert.Equal(back, rig.ReadData(512));

        // The count's high byte: 0x0101 sectors from 68,000 would pass the end (70,000): IDNF.
        rig.Lba48(0x24, 68_000, 0x0101 * 8);
        Assert.Equal(ErrorStatus, rig.Status());
        Assert.Equal(0x10, rig.Error());

        // HOB reads back the previous (high-order) register values.
        rig.Lba48(0x42, 0x0000_0500_0000_0001 & 0xFFFF, 1);
        rig.Ports.WriteByte(0x1F5, 0x12);
        rig.Ports.WriteByte(0x1F5, 0x34);
        rig.Ports.WriteByte(0x3F6, 0x80);
        Assert.Equal(0x12, rig.Register(5));
        rig.Ports.WriteByte(0x3F6, 0x00);
        Assert.Equal(0x34, rig.Register(5));
    }

    [Fact]
    public void ReadMultipleNeedsSetMultipleModeAndGivesBlocksOfThatSize()
    {
        var rig = new IdeTestRig(IdeTestRig.Disk(IdeTestRig.NumberedDisk(64)));
        rig.Lba28(0xC4, 0, 8);
        Assert.Equal(ErrorStatus, rig.Status());
        Assert.Equal(0x04, rig.Error());

        rig.Ports.WriteByte(0x1F2, 3);
        rig.Command(0xC6);                                // not a power of two
        Assert.Equal(ErrorStatus, rig.Status());

        rig.Ports.WriteByte(0x1F2, 4);
        rig.Command(0xC6);
        Assert.Equal(Ready, rig.Status());
        Assert.Equal(0x0104, rig.Identify()[59]);

        int edges = rig.Irq14.RisingEdges;
        rig.Lba28(0xC4, 20, 10);                          // 4 + 4 + 2 sectors
        for (int block = 0; block < 3; block++)
        {
            Assert.Equal(Drq, rig.Status());
            int sectors = block < 2 ? 4 : 2;
            byte[] data = rig.ReadData(sectors * 512);
            Assert.Equal(20 + (4 * block), SectorNumber(data, 0));
            Assert.Equal(20 + (4 * block) + sectors - 1, SectorNumber(data, data.Length - 4));
        }

        Assert.Equal(Ready, rig.Status());
        Assert.Equal(3, rig.Irq14.RisingEdges - edges);

        // WRITE MULTIPLE EXT: two blocks of 4 sectors.
        rig.Lba48(0x39, 30, 8);
        rig.WriteData(new byte[4 * 512]);
        Assert.Equal(Drq, rig.Status());
        rig.WriteData(new byte[4 * 512]);
        Assert.Equal(Ready, rig.Status());
        rig.Lba28(0x20, 37, 1);
        Assert.Equal(0, SectorNumber(rig.ReadData(512), 0));
    }

    [Fact]
    public void ReadBeyondTheEndIsIdNotFound()
    {
        var rig = new IdeTestRig(IdeTestRig.Disk(IdeTestRig.NumberedDisk(64)));
        rig.Lba28(0x20, 63, 2);
        Assert.True(rig.Irq14.IsAsserted);
        Assert.Equal(ErrorStatus, rig.Status());
        Assert.Equal(0x10, rig.Error());
        Assert.Equal(0, rig.Ports.ReadWord(0x1F0));       // no data
    }

    [Fact]
    public void HostReadFailureIsUncorrectableAndWriteFailureIsAborted()
    {
        var failing = new FailingBlockDevice(IdeTestRig.NumberedDisk(64), failFromOffset: 40 * 512, failReads: true, failWrites: true);
        var rig = new IdeTestRig(new IdeDriveConfiguration(IdeMediaKind.Disk, failing));
        rig.Lba28(0x20, 40, 1);
        Assert.Equal(ErrorStatus, rig.Status());
        Assert.Equal(0x40, rig.Error());                  // UNC
        Assert.Equal(40, rig.Register(3));                // the failing sector

        rig.Lba28(0x30, 45, 1);
        rig.WriteData(new byte[512]);
        Assert.Equal(ErrorStatus, rig.Status());
        Assert.Equal(0x04, rig.Error());                  // ABRT

        rig.Command(0xE7);                                // FLUSH CACHE fails on the host
        Assert.Equal(ErrorStatus, rig.Status());
        Assert.Equal(3, rig.Ide.HostErrorCount);

        rig.Lba28(0x20, 1, 1);                            // the drive goes on working
        Assert.Equal(Drq, rig.Status());
        Assert.Equal(1, SectorNumber(rig.ReadData(512), 0));
    }

    [Fact]
    public void ReadOnlyDiskAbortsWrites()
    {
        var disk = new MemoryBlockDevice(new byte[64 * 512], readOnly: true);
        var rig = new IdeTestRig(IdeTestRig.Disk(disk));
        rig.Lba28(0xCA, 0, 1);
        Assert.Equal(ErrorStatus, rig.Status());
        Assert.Equal(0x04, rig.Error());
    }

    [Fact]
    public void VerifyFlushSeekRecalibrateAndPowerCommandsComplete()
    {
        var disk = IdeTestRig.NumberedDisk(64);
        var rig = new IdeTestRig(IdeTestRig.Disk(disk));
        foreach (byte command in (byte[])[0x40, 0x10, 0x70, 0xE0, 0xE1, 0xE2, 0xE3])
        {
            rig.Lba28(command, 3, 2);
            Assert.Equal(Ready, rig.Status());
        }

        rig.Lba28(0x42, 62, 4);                           // READ VERIFY EXT past the end
        Assert.Equal(ErrorStatus, rig.Status());
        Assert.Equal(0x10, rig.Error());

        rig.Command(0xEA);
        rig.Command(0xE7);
        Assert.Equal(Ready, rig.Status());
        Assert.Equal(2, disk.FlushCount);

        rig.Ports.WriteByte(0x1F2, 0);
        rig.Command(0xE5);                                // CHECK POWER MODE
        Assert.Equal(Ready, rig.Status());
        Assert.Equal(0xFF, rig.Register(2));

        foreach (byte command in (byte[])[0x00, 0xA0, 0xA1, 0x08, 0xB0, 0xF1])
        {
            rig.Command(command);                         // NOP, PACKET, IDENTIFY PACKET, DEVICE RESET, SMART, security: aborted on a disk
            Assert.Equal(ErrorStatus, rig.Status());
            Assert.Equal(0x04, rig.Error());
        }
    }

    [Fact]
    public void SetFeaturesSelectsTransferModesAndTheWriteCache()
    {
        var rig = new IdeTestRig(IdeTestRig.Disk(IdeTestRig.NumberedDisk(64)));
        rig.Lba28(0xEF, 0, 0x22, features: 0x03);         // multiword DMA 2
        Assert.Equal(Ready, rig.Status());
        ushort[] w = rig.Identify();
        Assert.Equal(0x0400, w[63] & 0xFF00);
        Assert.Equal(0, w[88] & 0xFF00);

        rig.Lba28(0xEF, 0, 0x45, features: 0x03);         // Ultra DMA 5
        w = rig.Identify();
        Assert.Equal(0x2000, w[88] & 0xFF00);
        Assert.Equal(0, w[63] & 0xFF00);

        rig.Lba28(0xEF, 0, 0x46, features: 0x03);         // Ultra DMA 6: not supported
        Assert.Equal(ErrorStatus, rig.Status());

        rig.Lba28(0xEF, 0, 0, features: 0x82);            // write cache off
        Assert.Equal(Ready, rig.Status());
        Assert.Equal(0, rig.Identify()[85] & 0x20);
        rig.Lba28(0xEF, 0, 0, features: 0x02);
        Assert.Equal(0x20, rig.Identify()[85] & 0x20);

        rig.Lba28(0xEF, 0, 0, features: 0x99);            // unknown subcommand
        Assert.Equal(ErrorStatus, rig.Status());
        Assert.Equal(0x04, rig.Error());
    }

    [Fact]
    public void SoftwareResetBusiesTheDrivesThenRestoresTheSignatures()
    {
        var rig = new IdeTestRig(IdeTestRig.Disk(IdeTestRig.NumberedDisk(64)), IdeTestRig.Cdrom(null));
        rig.Lba28(0x20, 5, 2);                            // leave a transfer half done
        rig.Ports.WriteByte(0x3F6, 0x04);                 // SRST
        Assert.Equal(0x80, rig.AltStatus());              // BSY while SRST is set
        rig.Ports.WriteByte(0x3F6, 0x00);
        Assert.Equal(Ready, rig.Status());
        Assert.Equal((1, 1, 0, 0), (rig.Register(2), rig.Register(3), rig.Register(4), rig.Register(5)));
        Assert.Equal(0, rig.Ports.ReadWord(0x1F0));       // the transfer is gone
        rig.Select(1);
        Assert.Equal(0x00, rig.Status());                 // a packet device leaves DRDY clear after reset
        Assert.Equal((0x14, 0xEB), (rig.Register(4), rig.Register(5)));
        Assert.Equal(1, rig.Error());
    }

    [Fact]
    public void ExecuteDeviceDiagnosticReportsBothDrivesAndSelectsTheMaster()
    {
        var rig = new IdeTestRig(IdeTestRig.Disk(IdeTestRig.NumberedDisk(64)), IdeTestRig.Disk(IdeTestRig.NumberedDisk(64)));
        rig.Select(1);
        rig.Command(0x90);
        Assert.True(rig.Irq14.IsAsserted);
        Assert.Equal(Ready, rig.Status());
        Assert.Equal(0x01, rig.Error());
        Assert.Equal(0, rig.Register(6) & 0x10);
    }

    [Fact]
    public void InterruptDisableKeepsTheLineLowButTheStatusTellsCompletion()
    {
        var rig = new IdeTestRig(IdeTestRig.Disk(IdeTestRig.NumberedDisk(64)));
        rig.Ports.WriteByte(0x3F6, 0x02);                 // nIEN
        rig.Lba28(0x20, 1, 1);
        Assert.False(rig.Irq14.IsAsserted);
        Assert.Equal(Drq, rig.AltStatus());
        rig.Ports.WriteByte(0x3F6, 0x00);                 // the pending interrupt shows once enabled
        Assert.True(rig.Irq14.IsAsserted);
    }

    [Fact]
    public void TheSecondaryChannelHasItsOwnPortsAndIrq15()
    {
        var rig = new IdeTestRig(null, null, IdeTestRig.Disk(IdeTestRig.NumberedDisk(64)));
        rig.Lba28(0x20, 9, 1, b: IdeTestRig.Secondary);
        Assert.True(rig.Irq15.IsAsserted);
        Assert.False(rig.Irq14.IsAsserted);
        Assert.Equal(9, SectorNumber(rig.ReadData(512, IdeTestRig.Secondary), 0));
        Assert.Equal(0, rig.Status(IdeTestRig.Primary));   // the primary channel has no drive
    }

    private static string AtaString(ushort[] w, int first, int length)
    {
        var text = new StringBuilder();
        for (int i = 0; i < length / 2; i++)
        {
            text.Append((char)(w[first + i] >> 8)).Append((char)(w[first + i] & 0xFF));
        }

        return text.ToString().TrimEnd();
    }
}
