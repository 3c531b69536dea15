using System.Text.Json;
using Virt.Devices.Tests.Fakes;
using Xunit;

namespace Virt.Devices.Tests.Storage.Ide;

/// <summary>The PIIX3 IDE function's configuration space, legacy decoding, native mode, media, and its state record.</summary>
public sealed class Piix3IdeTests
{
    [Fact]
    public void ConfigurationSpaceIdentifiesThePiix3Ide()
    {
        var rig = new IdeTestRig(new Piix3IdeOptions(), firmwareSetup: false);
        Assert.Equal(0x7010_8086u, rig.Pci.ReadConfig(1, 1, 0x00, 4));
        Assert.Equal(0x0101_8000u, rig.Pci.ReadConfig(1, 1, 0x08, 4));   // class 01 01 80, revision 0
        Assert.Equal(0x0280u, rig.Pci.ReadConfig(1, 1, 0x06, 2));        // status: medium DEVSEL, fast back-to-back
        Assert.Equal(0x0000u, rig.Pci.ReadConfig(1, 1, 0x04, 2));
        Assert.Equal(0x0000_0001u, rig.Pci.ReadConfig(1, 1, 0x20, 4));   // BMIBA: I/O
        rig.Pci.WriteConfig(1, 1, 0x20, 4, 0xFFFF_FFFF);
        Assert.Equal(0xFFFF_FFF1u, rig.Pci.ReadConfig(1, 1, 0x20, 4));   // 16 ports
        Assert.Equal(0u, rig.Pci.ReadConfig(1, 1, 0x10, 4));             // BAR0-3 not implemented
        Assert.Equal(0u, rig.Pci.ReadConfig(1, 1, 0x3D, 1));             // no interrupt pin
        rig.Pci.WriteConfig(1, 1, 0x04, 2, 0xFFFF);
        Assert.Equal(0x0005u, rig.Pci.ReadConfig(1, 1, 0x04, 2));        // only I/O space and bus master
        rig.Pci.WriteConfig(1, 1, 0x09, 1, 0xFF);
        Assert.Equal(0x80u, rig.Pci.ReadConfig(1, 1, 0x09, 1));          // compatibility mode only
    }

    [Fact]
    public void LegacyPortsNeedIoSpaceAndTheDecodeEnableBit()
    {
        var rig = new IdeTestRig(new Piix3IdeOptions { Drives = [IdeTestRig.Disk(IdeTestRig.NumberedDisk(8))] }, firmwareSetup: false);
        Assert.Equal(0xFF, rig.Ports.ReadByte(0x1F7));
        rig.Pci.WriteConfig(1, 1, 0x04, 2, 0x0001);
        Assert.Equal(0xFF, rig.Ports.ReadByte(0x1F7));                  // IDETIM decode still off
        rig.Pci.WriteConfig(1, 1, 0x40, 2, 0x8000);
        Assert.Equal(0x50, rig.Ports.ReadByte(0x1F7));
        Assert.Equal(0x50, rig.Ports.ReadByte(0x3F6));
        Assert.Equal(0xFF, rig.Ports.ReadByte(0x177));                  // the secondary is still off
        Assert.Equal(0xFF, rig.Ports.ReadByte(0x3F7));                  // 3F7h stays free for the floppy controller
        Assert.True(rig.Ide.IsLegacyDecoded(0));
        rig.Pci.WriteConfig(1, 1, 0x04, 2, 0x0000);
        Assert.Equal(0xFF, rig.Ports.ReadByte(0x1F7));
    }

    [Fact]
    public void NativeModeMovesAChannelToItsBarsAndIntA()
    {
        var options = new Piix3IdeOptions { Drives = [IdeTestRig.Disk(IdeTestRig.NumberedDisk(8))], NativeModeCapable = true };
        var rig = new IdeTestRig(options);
        Assert.Equal(0x8Au, rig.Pci.ReadConfig(1, 1, 0x09, 1));
        Assert.Equal(1u, rig.Pci.ReadConfig(1, 1, 0x3D, 1));            // INTA#
        rig.Pci.WriteConfig(1, 1, 0x10, 4, 0xD000);
        rig.Pci.WriteConfig(1, 1, 0x14, 4, 0xD010);
        Assert.Equal(0xFF, rig.Ports.ReadByte(0xD007));                 // compatibility mode: the BAR does not answer
        rig.Pci.WriteConfig(1, 1, 0x09, 1, 0x01);                       // primary to native mode
        Assert.False(rig.Ide.IsLegacyDecoded(0));
        Assert.Equal(0xFF, rig.Ports.ReadByte(0x1F7));
        Assert.Equal(0x50, rig.Ports.ReadByte(0xD012));                 // alternate status at offset 2 of the control BAR

        rig.Lba28(0x20, 3, 1, b: 0xD000);
        RecordingInterruptLine inta = rig.Router.Lines.Single().Value;
        Assert.True(inta.IsAsserted);
        Assert.False(rig.Irq14.IsAsserted);
        Assert.Equal(0x58, rig.Status(0xD000));
        Assert.False(inta.IsAsserted);
        Assert.Equal(3, BitConverter.ToInt32(rig.ReadData(512, 0xD000)));
    }

    [Fact]
    public void StateRoundTripsInTheMiddleOfATransfer()
    {
        MemoryBlockDevice disk = IdeTestRig.NumberedDisk(64);
        var rig = new IdeTestRig(IdeTestRig.Disk(disk), null, IdeTestRig.Cdrom(IdeTestRig.NumberedDisk(20, 2048)));
        rig.Lba28(0x20, 10, 3);
        rig.ReadData(512);
        rig.ReadData(100);                                   // stop in the middle of sector 11
        rig.Packet([0x4A, 1, 0, 0, 0x10, 0, 0, 0, 8]);
        Piix3IdeState saved = rig.Ide.SaveState();
        string json = JsonSerializer.Serialize(saved);

        var other = new IdeTestRig(IdeTestRig.Disk(disk), null, IdeTestRig.Cdrom(IdeTestRig.NumberedDisk(20, 2048)));
        other.Ide.RestoreState(JsonSerializer.Deserialize<Piix3IdeState>(json)!);
        Assert.Equal(json, JsonSerializer.Serialize(other.Ide.SaveState()));
        byte[] rest = other.ReadData(412);
        Assert.Equal(11, BitConverter.ToInt32(rest, 412 - 4));
        Assert.Equal(0x58, other.Status());
        Assert.Equal(12, BitConverter.ToInt32(other.ReadData(512)));
        Assert.Equal(0x50, other.Status());
        Assert.Equal(8, other.ReadPacketData().Length);
    }

    [Fact]
    public void RestoreRefusesARecordForOtherDrivesAndChangesNothing()
    {
        var rig = new IdeTestRig(IdeTestRig.Disk(IdeTestRig.NumberedDisk(8)));
        Piix3IdeState before = rig.Ide.SaveState();
        var cdRig = new IdeTestRig(IdeTestRig.Cdrom(null));
        Assert.Throws<ArgumentException>(() => rig.Ide.RestoreState(cdRig.Ide.SaveState()));
        Assert.Throws<ArgumentException>(() => rig.Ide.RestoreState(before with { Version = 99 }));
        var empty = new IdeTestRig(new Piix3IdeOptions());
        Assert.Throws<ArgumentException>(() => rig.Ide.RestoreState(empty.Ide.SaveState()));
        Assert.Equal(JsonSerializer.Serialize(before), JsonSerializer.Serialize(rig.Ide.SaveState()));
    }

    [Fact]
    public void ResetPutsDrivesBackToPowerOn()
    {
        var rig = new IdeTestRig(IdeTestRig.Disk(IdeTestRig.NumberedDisk(8)));
        rig.Ports.WriteByte(0x1F2, 4);
        rig.Command(0xC6);
        rig.Lba28(0x20, 1, 1);
        rig.Ide.Reset();
        Assert.False(rig.Irq14.IsAsserted);
        Assert.Equal(0xFF, rig.Ports.ReadByte(0x1F7));        // decoding off again until firmware enables it
        rig.Pci.WriteConfig(1, 1, 0x40, 2, 0x8000);
        rig.Pci.WriteConfig(1, 1, 0x04, 2, 0x0001);
        Assert.Equal(0x50, rig.Status());
        Assert.Equal(0, rig.Identify()[59]);                  // multiple mode off
    }

    [Fact]
    public void ConfigurationMistakesAreRefusedWithTheirPosition()
    {
        var cd = new MemoryBlockDevice(4096, sectorSize: 2048);
        ArgumentException e = Assert.Throws<ArgumentException>(() => new IdeTestRig(null, IdeTestRig.Disk(cd)));
        Assert.Contains("IDE drive 1", e.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => new IdeTestRig(new IdeDriveConfiguration(IdeMediaKind.Disk, null)));
        Assert.Throws<ArgumentException>(() => new Piix3Ide(new Piix3IdeOptions { Drives = new IdeDriveConfiguration?[5] }, new RecordingInterruptLine(), new RecordingInterruptLine()));
        var rig = new IdeTestRig(IdeTestRig.Disk(IdeTestRig.NumberedDisk(8)));
        Assert.Throws<InvalidOperationException>(() => rig.Ide.ChangeMedium(0, null));
        Assert.Throws<InvalidOperationException>(() => rig.Ide.ChangeMedium(1, null));
        Assert.Throws<ArgumentOutOfRangeException>(() => rig.Ide.ChangeMedium(4, null));
    }

    [Fact]
    public void CmosGetsTheDiskTypesAndTranslations()
    {
        var rtc = new Devices.Rtc146818(new VirtualClock(), null);
        var small = new MemoryBlockDevice(100 * 16 * 63 * 512L);
        IdeCmos.Write(rtc, [IdeTestRig.Disk(small), null, IdeTestRig.Cdrom(null), new IdeDriveConfiguration(IdeMediaKind.Disk, new LargeDevice())]);
        Assert.Equal(0xF0, rtc.ReadCmos(CmosLayout.HardDiskTypes));
        Assert.Equal(47, rtc.ReadCmos(CmosLayout.HardDisk0ExtendedType));
        Assert.Equal(100, rtc.ReadCmos(CmosLayout.HardDisk0Parameters));
        Assert.Equal(16, rtc.ReadCmos(CmosLayout.HardDisk0Parameters + 2));
        Assert.Equal(63, rtc.ReadCmos(CmosLayout.HardDisk0Parameters + 8));
        Assert.Equal(0b01_00_00_00, rtc.ReadCmos(CmosLayout.IdeTranslation)); // drive 3 (over 1024 cylinders): LBA
        int sum = 0;
        for (int i = CmosLayout.ChecksumFirst; i <= CmosLayout.ChecksumLast; i++)
        {
            sum += rtc.ReadCmos(i);
        }

        Assert.Equal(sum, (rtc.ReadCmos(CmosLayout.ChecksumHigh) << 8) | rtc.ReadCmos(CmosLayout.ChecksumHigh + 1));
    }

    /// <summary>A 4 GiB disk that is never read.</summary>
    private sealed class LargeDevice : IBlockDevice
    {
        public string Name => "large";

        public int SectorSize => 512;

        public long CapacityInBytes => 4L << 30;

        public bool IsReadOnly => true;

        public void Read(long offset, Span<byte> destination) => destination.Clear();

        public void Write(long offset, ReadOnlySpan<byte> source) => throw new InvalidOperationException();

        public void Flush()
        {
        }

        public ValueTask ReadAsync(long offset, Memory<byte> destination, CancellationToken cancellationToken = default) => ValueTask.CompletedTask;

        public ValueTask WriteAsync(long offset, ReadOnlyMemory<byte> source, CancellationToken cancellationToken = default) => ValueTask.CompletedTask;

        public ValueTask FlushAsync(CancellationToken cancellationToken = default) => ValueTask.CompletedTask;

        public void Dispose()
        {
        }
    }
}
