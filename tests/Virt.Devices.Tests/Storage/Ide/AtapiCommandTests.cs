using System.Buffers.Binary;
using Xunit;

namespace Virt.Devices.Tests.Storage.Ide;

/// <summary>The ATAPI CD-ROM drive on the secondary master, driven with PACKET commands as El Torito boot code and Linux's sr do.</summary>
public sealed class AtapiCommandTests
{
    private const ushort S = IdeTestRig.Secondary;
    private const byte Good = 0x50;
    private const byte Check = 0x41;

    private static (IdeTestRig Rig, MemoryBlockDevice Disc) CdRig(int blocks = 100)
    {
        MemoryBlockDevice disc = IdeTestRig.NumberedDisk(blocks, 2048);
        return (new IdeTestRig(null, null, IdeTestRig.Cdrom(disc)), disc);
    }

    private static byte[] Read10(uint lba, ushort blocks) =>
        [0x28, 0, (byte)(lba >> 24), (byte)(lba >> 16), (byte)(lba >> 8), (byte)lba, 0, (byte)(blocks >> 8), (byte)blocks, 0];

    [Fact]
    public void IdentifyDeviceAbortsWithThePacketSignatureAndIdentifyPacketDeviceAnswers()
    {
        (IdeTestRig rig, _) = CdRig();
        rig.Select(0, b: S);
        rig.Command(0xEC, S);
        Assert.Equal(Check, rig.Status(S));
        Assert.Equal(0x04, rig.Error(S));
        Assert.Equal((0x14, 0xEB), (rig.Register(4, S), rig.Register(5, S)));

        ushort[] w = rig.Identify(0xA1, b: S);
        Assert.Equal(0x85C0, w[0]);                       // ATAPI, CD-ROM, removable, 50 us DRQ, 12-byte packets
        Assert.Equal(0x0300, w[49] & 0x0300);             // DMA and LBA
        Assert.Equal(0xA5, w[255] & 0xFF);
    }

    [Fact]
    public void PacketAsksForTheCommandWithoutAnInterruptAndTestUnitReadyCompletes()
    {
        (IdeTestRig rig, _) = CdRig();
        rig.Select(0, lba: false, b: S);
        rig.Command(0xA0, S);
        Assert.Equal(0x48, rig.AltStatus(IdeTestRig.SecondaryControl)); // DRDY | DRQ
        Assert.Equal(0x01, rig.Register(2, S));                        // CoD: a command packet
        Assert.False(rig.Irq15.IsAsserted);
        rig.WriteData(new byte[12], S);                                // TEST UNIT READY
        Assert.True(rig.Irq15.IsAsserted);
        Assert.Equal(Good, rig.Status(S));
        Assert.Equal(0x03, rig.Register(2, S));                        // CoD | IO: completion
    }

    [Fact]
    public void InquiryAndReadCapacityDescribeTheDrive()
    {
        (IdeTestRig rig, _) = CdRig(1234);
        rig.Packet([0x12, 0, 0, 0, 36]);
        byte[] inquiry = rig.ReadPacketData();
        Assert.Equal(36, inquiry.Length);
        Assert.Equal(0x05, inquiry[0]);                   // CD/DVD
        Assert.Equal(0x80, inquiry[1]);                   // removable
        Assert.Equal("VIRT    ", System.Text.Encoding.ASCII.GetString(inquiry, 8, 8));
        Assert.Equal(Good, rig.Status(S));

        rig.Packet([0x25]);
        byte[] capacity = rig.ReadPacketData();
        Assert.Equal(1233u, BinaryPrimitives.ReadUInt32BigEndian(capacity));
        Assert.Equal(2048u, BinaryPrimitives.ReadUInt32BigEndian(capacity.AsSpan(4)));

        rig.Packet([0x12, 1, 0x80, 0, 36]);               // EVPD: not supported
        Assert.Equal(Check, rig.Status(S));
        Assert.Equal((5, 0x24, 0), rig.RequestSense());
    }

    [Fact]
    public void Read10HonoursTheByteCountLimitWithOneInterruptPerBlock()
    {
        (IdeTestRig rig, _) = CdRig();
        rig.Packet(Read10(10, 3), byteCountLimit: 2048);
        for (int i = 0; i < 3; i++)
        {
            Assert.True(rig.Irq15.IsAsserted);
            Assert.Equal(0x48, rig.Status(S));            // DRDY | DRQ
            Assert.Equal(0x02, rig.Register(2, S));       // IO: data to the host
            Assert.Equal(2048, rig.Register(4, S) | (rig.Register(5, S) << 8));
            byte[] block = rig.ReadData(2048, S);
            Assert.Equal(10 + i, BinaryPrimitives.ReadInt32LittleEndian(block));
            Assert.Equal(10 + i, BinaryPrimitives.ReadInt32LittleEndian(block.AsSpan(2044)));
        }

        Assert.True(rig.Irq15.IsAsserted);
        Assert.Equal(Good, rig.Status(S));
        Assert.Equal(0x03, rig.Register(2, S));

        // A limit smaller than a block splits it; the whole still arrives in order.
        rig.Packet(Read10(5, 1), byteCountLimit: 1000);
        byte[] data = rig.ReadPacketData();
        Assert.Equal(2048, data.Length);
        Assert.Equal(5, BinaryPrimitives.ReadInt32LittleEndian(data.AsSpan(2044)));

        // A large limit gives whole blocks per DRQ.
        rig.Packet(Read10(0, 40), byteCountLimit: 0xFFFE);
        Assert.Equal(0x48, rig.Status(S));
        Assert.Equal(0xF800, rig.Register(4, S) | (rig.Register(5, S) << 8)); // 31 whole blocks fit 0xFFFE
    }

    [Fact]
    public void Read12PastTheEndIsAnIllegalRequest()
    {
        (IdeTestRig rig, _) = CdRig(100);
        rig.Packet([0xA8, 0, 0, 0, 0, 99, 0, 0, 0, 2]);
        Assert.Equal(Check, rig.Status(S));
        Assert.Equal(0x54, rig.Error(S));                 // ILLEGAL REQUEST in the high nibble, ABRT
        Assert.Equal((5, 0x21, 0), rig.RequestSense());
        Assert.Equal((0, 0, 0), rig.RequestSense());     // sense is cleared once read

        rig.Packet([0xA8, 0, 0, 0, 0, 98, 0, 0, 0, 2]);
        Assert.Equal(4096, rig.ReadPacketData().Length);
    }

    [Fact]
    public void UnknownCommandsAreCheckConditionWithIllegalRequest()
    {
        (IdeTestRig rig, _) = CdRig();
        rig.Packet([0xFF]);
        Assert.True(rig.Irq15.IsAsserted);
        Assert.Equal(Check, rig.Status(S));
        Assert.Equal((5, 0x20, 0), rig.RequestSense());
    }

    [Fact]
    public void ModeSenseReturnsTheCapabilitiesPage()
    {
        (IdeTestRig rig, _) = CdRig();
        rig.Packet([0x5A, 0, 0x2A, 0, 0, 0, 0, 0, 128]);
        byte[] data = rig.ReadPacketData();
        Assert.Equal(8 + 22, data.Length);
        Assert.Equal(data.Length - 2, BinaryPrimitives.ReadUInt16BigEndian(data));
        Assert.Equal(0x2A, data[8]);
        Assert.Equal(0x14, data[9]);
        Assert.Equal(0x08, data[8 + 6] & 0x08);          // eject supported

        rig.Packet([0x5A, 0, 0x3F, 0, 0, 0, 0, 0, 255]);  // all pages
        data = rig.ReadPacketData();
        Assert.Equal(8 + 8 + 16 + 22, data.Length);

        rig.Packet([0x5A, 0, 0x2A, 0, 0, 0, 0, 0, 12]);   // the allocation length cuts the reply
        Assert.Equal(12, rig.ReadPacketData().Length);

        rig.Packet([0x5A, 0, 0xEA, 0, 0, 0, 0, 0, 128]);  // saved values
        Assert.Equal(Check, rig.Status(S));
        Assert.Equal((5, 0x39, 0), rig.RequestSense());

        rig.Packet([0x5A, 0, 0x05, 0, 0, 0, 0, 0, 128]);  // a page the drive does not have
        Assert.Equal((5, 0x24, 0), rig.RequestSense());
    }

    [Fact]
    public void ReadTocGivesTrackOneAndTheLeadOutInLbaAndMsf()
    {
        (IdeTestRig rig, _) = CdRig(1000);
        rig.Packet([0x43, 0, 0, 0, 0, 0, 0, 0, 100]);
        byte[] toc = rig.ReadPacketData();
        Assert.Equal(20, toc.Length);
        Assert.Equal(18, BinaryPrimitives.ReadUInt16BigEndian(toc));
        Assert.Equal((1, 1), (toc[2], toc[3]));
        Assert.Equal((0x14, 1), (toc[5], toc[6]));
        Assert.Equal(0u, BinaryPrimitives.ReadUInt32BigEndian(toc.AsSpan(8)));
        Assert.Equal(0xAA, toc[14]);
        Assert.Equal(1000u, BinaryPrimitives.ReadUInt32BigEndian(toc.AsSpan(16)));

        rig.Packet([0x43, 2, 0, 0, 0, 0, 0, 0, 100]);     // MSF: 1000 + 150 frames = 00:15:25
        toc = rig.ReadPacketData();
        Assert.Equal((0, 0, 2, 0), (toc[8], toc[9], toc[10], toc[11]));
        Assert.Equal((0, 0, 15, 25), (toc[16], toc[17], toc[18], toc[19]));

        rig.Packet([0x43, 0, 1, 0, 0, 0, 0, 0, 100]);     // format 1: session information
        toc = rig.ReadPacketData();
        Assert.Equal(12, toc.Length);
        Assert.Equal(10, BinaryPrimitives.ReadUInt16BigEndian(toc));
        Assert.Equal(1, toc[6]);

        rig.Packet([0x43, 0, 0, 0, 0, 0, 0xAA, 0, 100]);  // from the lead-out only
        Assert.Equal(12, rig.ReadPacketData().Length);

        rig.Packet([0x43, 0, 0, 0, 0, 0, 5, 0, 100]);     // track 5 does not exist
        Assert.Equal((5, 0x24, 0), rig.RequestSense());

        rig.Packet([0x43, 0, 4, 0, 0, 0, 0, 0, 100]);     // format 4 (ATIP) is not implemented
        Assert.Equal((5, 0x24, 0), rig.RequestSense());
    }

    [Fact]
    public void GetConfigurationAndDiscInformationDescribeACdRom()
    {
        (IdeTestRig rig, _) = CdRig();
        rig.Packet([0x46, 0, 0, 0, 0, 0, 0, 0, 200]);
        byte[] config = rig.ReadPacketData();
        Assert.Equal(config.Length - 4, (int)BinaryPrimitives.ReadUInt32BigEndian(config));
        Assert.Equal(0x0008, BinaryPrimitives.ReadUInt16BigEndian(config.AsSpan(6))); // current profile CD-ROM
        Assert.Equal(0x0000, BinaryPrimitives.ReadUInt16BigEndian(config.AsSpan(8)));  // the profile list first

        rig.Packet([0x46, 2, 0, 1, 0, 0, 0, 0, 200]);     // only the core feature
        config = rig.ReadPacketData();
        Assert.Equal(8 + 12, config.Length);
        Assert.Equal(0x0001, BinaryPrimitives.ReadUInt16BigEndian(config.AsSpan(8)));

        rig.Packet([0x51, 0, 0, 0, 0, 0, 0, 0, 34]);
        byte[] info = rig.ReadPacketData();
        Assert.Equal(34, info.Length);
        Assert.Equal(0x0E, info[2]);                      // finalized
    }

    [Fact]
    public void EjectIsRefusedWhileLockedAndLeavesTheDriveNotReady()
    {
        (IdeTestRig rig, MemoryBlockDevice disc) = CdRig();
        rig.Packet([0x1E, 0, 0, 0, 1]);                    // PREVENT MEDIUM REMOVAL
        Assert.Equal(Good, rig.Status(S));
        rig.Packet([0x1B, 0, 0, 0, 0x02]);                 // eject
        Assert.Equal(Check, rig.Status(S));
        Assert.Equal((5, 0x53, 0x02), rig.RequestSense());
        Assert.False(rig.Ide.IsTrayOpen(2));

        rig.Packet([0x1E, 0, 0, 0, 0]);                    // ALLOW
        rig.Packet([0x1B, 0, 0, 0, 0x02]);
        Assert.Equal(Good, rig.Status(S));
        Assert.True(rig.Ide.IsTrayOpen(2));
        rig.Packet([0x00]);
        Assert.Equal(Check, rig.Status(S));
        Assert.Equal((2, 0x3A, 2), rig.RequestSense());   // NOT READY, medium not present, tray open

        rig.Packet([0x4A, 1, 0, 0, 0x10, 0, 0, 0, 8]);     // the media removal event, once
        byte[] events = rig.ReadPacketData();
        Assert.Equal((4, 3, 0x01), (events[2], events[4], events[5]));
        rig.Packet([0x4A, 1, 0, 0, 0x10, 0, 0, 0, 8]);
        Assert.Equal(0, rig.ReadPacketData()[4]);

        rig.Packet([0x1B, 0, 0, 0, 0x03]);                 // load: the disc is back
        rig.Packet([0x25]);
        Assert.Equal(8, rig.ReadPacketData().Length);
        Assert.Same(disc, rig.Ide.GetMedium(2));
    }

    [Fact]
    public void AMediumChangeRaisesUnitAttentionOnceAndAMediaEvent()
    {
        (IdeTestRig rig, _) = CdRig(100);
        var other = IdeTestRig.NumberedDisk(500, 2048);
        rig.Ide.ChangeMedium(2, other);

        rig.Packet([0x12, 0, 0, 0, 36]);                   // INQUIRY does not report the unit attention
        Assert.Equal(36, rig.ReadPacketData().Length);
        rig.Packet([0x4A, 1, 0, 0, 0x10, 0, 0, 0, 8]);
        byte[] events = rig.ReadPacketData();
        Assert.Equal((2, 0x02), (events[4], events[5]));   // new media, present

        rig.Packet([0x00]);                                // TEST UNIT READY: UNIT ATTENTION once
        Assert.Equal(Check, rig.Status(S));
        Assert.Equal(0x60, rig.Error(S) & 0xF0);
        Assert.Equal((6, 0x28, 0), rig.RequestSense());
        rig.Packet([0x00]);
        Assert.Equal(Good, rig.Status(S));
        rig.Packet([0x25]);
        Assert.Equal(499u, BinaryPrimitives.ReadUInt32BigEndian(rig.ReadPacketData()));

        rig.Ide.ChangeMedium(2, null);
        Assert.Equal((6, 0x28, 0), rig.RequestSense());    // REQUEST SENSE reports the pending unit attention
        rig.Packet([0x00]);
        Assert.Equal((2, 0x3A, 1), rig.RequestSense());   // no medium, tray closed
    }

    [Fact]
    public void AnEmptyDriveIsNotReady()
    {
        var rig = new IdeTestRig(null, null, IdeTestRig.Cdrom(null));
        foreach (byte[] cdb in (byte[][])[[0x00], [0x25], [0x28, 0, 0, 0, 0, 0, 0, 0, 1], [0x43, 0, 0, 0, 0, 0, 0, 0, 12], [0x51, 0, 0, 0, 0, 0, 0, 0, 34]])
        {
            rig.Packet(cdb);
            Assert.Equal(Check, rig.Status(S));
            Assert.Equal((2, 0x3A, 1), rig.RequestSense());
        }

        rig.Packet([0x46, 0, 0, 0, 0, 0, 0, 0, 8]);
        Assert.Equal(0, BinaryPrimitives.ReadUInt16BigEndian(rig.ReadPacketData().AsSpan(6))); // no current profile
    }

    [Fact]
    public void HostReadFailureIsAMediumError()
    {
        var failing = new FailingBlockDevice(IdeTestRig.NumberedDisk(100, 2048), failFromOffset: 50 * 2048, failReads: true, failWrites: false);
        var rig = new IdeTestRig(null, null, new IdeDriveConfiguration(IdeMediaKind.Cdrom, failing));
        rig.Packet(Read10(50, 1));
        Assert.Equal(Check, rig.Status(S));
        Assert.Equal((3, 0x11, 0), rig.RequestSense());
        Assert.Equal(1, rig.Ide.HostErrorCount);
    }

    [Fact]
    public void GetEventStatusNotificationNeedsThePolledBit()
    {
        (IdeTestRig rig, _) = CdRig();
        rig.Packet([0x4A, 0, 0, 0, 0x10, 0, 0, 0, 8]);
        Assert.Equal((5, 0x24, 0), rig.RequestSense());
        rig.Packet([0x4A, 1, 0, 0, 0x02, 0, 0, 0, 8]);     // a class the drive does not support
        byte[] reply = rig.ReadPacketData();
        Assert.Equal(4, reply.Length);
        Assert.Equal(0x80, reply[2]);                       // no event available
    }
}
