using System.Buffers.Binary;
using Xunit;

namespace Virt.Devices.Tests.Storage.Ide;

/// <summary>Bus-master IDE DMA through PRD tables, as ata_piix drives it: set up, command, start, interrupt, stop.</summary>
public sealed class BusMasterDmaTests
{
    private const byte Ready = 0x50;
    private const byte BmActive = 0x01;
    private const byte BmError = 0x02;
    private const byte BmInterrupt = 0x04;

    [Fact]
    public void ReadDmaScattersSectorsOverThePrdRegionsAndInterrupts()
    {
        var rig = new IdeTestRig(IdeTestRig.Disk(IdeTestRig.NumberedDisk(64)));
        rig.SetPrdTable(0, (IdeTestRig.DmaBuffer, 512), (IdeTestRig.DmaBuffer + 0x2000, 1024));
        rig.Lba28(0xC8, 4, 3);                             // READ DMA: the drive waits for the engine
        Assert.False(rig.Irq14.IsAsserted);
        rig.StartBusMaster(toMemory: true);
        Assert.True(rig.Irq14.IsAsserted);
        Assert.Equal(BmInterrupt, rig.BusMasterStatus() & (BmActive | BmError | BmInterrupt)); // EOT reached: active clear
        Assert.Equal(Ready, rig.Status());
        rig.StopBusMaster();
        Assert.Equal(4, BinaryPrimitives.ReadInt32LittleEndian(rig.ReadMemory(IdeTestRig.DmaBuffer, 4)));
        Assert.Equal(5, BinaryPrimitives.ReadInt32LittleEndian(rig.ReadMemory(IdeTestRig.DmaBuffer + 0x2000, 4)));
        Assert.Equal(6, BinaryPrimitives.ReadInt32LittleEndian(rig.ReadMemory(IdeTestRig.DmaBuffer + 0x2000 + 1020, 4)));
        Assert.Equal(6, rig.Register(3));                  // the last sector
        Assert.Equal(BmInterrupt, rig.BusMasterStatus() & BmInterrupt); // not cleared by reading or stopping
        rig.Ports.WriteByte(IdeTestRig.BusMasterBase + 2, BmInterrupt);
        Assert.Equal(0, rig.BusMasterStatus() & BmInterrupt);           // cleared by writing 1
    }

    [Fact]
    public void StartingTheEngineBeforeTheCommandAlsoWorks()
    {
        var rig = new IdeTestRig(IdeTestRig.Disk(IdeTestRig.NumberedDisk(64)));
        rig.SetPrdTable(0, (IdeTestRig.DmaBuffer, 512));
        rig.StartBusMaster(toMemory: true);
        rig.Lba28(0xC8, 9, 1);
        Assert.True(rig.Irq14.IsAsserted);
        Assert.Equal(9, BinaryPrimitives.ReadInt32LittleEndian(rig.ReadMemory(IdeTestRig.DmaBuffer, 4)));
    }

    [Fact]
    public void WriteDmaExtGathersFromMemoryAcrossOddRegionSizes()
    {
        var disk = new MemoryBlockDevice(64 * 512);
        var rig = new IdeTestRig(IdeTestRig.Disk(disk));
        byte[] source = Enumerable.Range(0, 1024).Select(i => (byte)(i * 7)).ToArray();
        rig.Pci.Memory.Write(new Virt.Memory.PhysicalAddress(IdeTestRig.DmaBuffer), source.AsSpan(0, 300));
        rig.Pci.Memory.Write(new Virt.Memory.PhysicalAddress(IdeTestRig.DmaBuffer + 0x1000), source.AsSpan(300));
        rig.SetPrdTable(0, (IdeTestRig.DmaBuffer, 300), (IdeTestRig.DmaBuffer + 0x1000, 724));
        rig.Lba48(0x35, 20, 2);
        rig.StartBusMaster(toMemory: false);
        Assert.Equal(Ready, rig.Status());
        byte[] written = new byte[1024];
        disk.Read(20 * 512, written);
        Assert.Equal(source, written);
    }

    [Fact]
    public void APrdTableLongerThanTheTransferLeavesTheEngineActive()
    {
        var rig = new IdeTestRig(IdeTestRig.Disk(IdeTestRig.NumberedDisk(64)));
        rig.SetPrdTable(0, (IdeTestRig.DmaBuffer, 4096));
        rig.Lba28(0xC8, 0, 1);
        rig.StartBusMaster(toMemory: true);
        Assert.True(rig.Irq14.IsAsserted);
        Assert.Equal(BmActive | BmInterrupt, rig.BusMasterStatus() & 0x07);
        rig.StopBusMaster();
        Assert.Equal(BmInterrupt, rig.BusMasterStatus() & 0x07);
    }

    [Fact]
    public void APrdTableShorterThanTheTransferStopsWithoutAnInterrupt()
    {
        var rig = new IdeTestRig(IdeTestRig.Disk(IdeTestRig.NumberedDisk(64)));
        rig.SetPrdTable(0, (IdeTestRig.DmaBuffer, 512));
        rig.Lba28(0xC8, 0, 2);
        rig.StartBusMaster(toMemory: true);
        Assert.False(rig.Irq14.IsAsserted);
        Assert.Equal(0, rig.BusMasterStatus() & 0x07);
        Assert.Equal(0x58, rig.AltStatus());               // the drive still wants to transfer

        rig.SetPrdTable(0, (IdeTestRig.DmaBuffer + 0x1000, 512)); // a second table finishes the command
        rig.StopBusMaster();
        rig.StartBusMaster(toMemory: true);
        Assert.True(rig.Irq14.IsAsserted);
        Assert.Equal(1, BinaryPrimitives.ReadInt32LittleEndian(rig.ReadMemory(IdeTestRig.DmaBuffer + 0x1000, 4)));
    }

    [Fact]
    public void WithoutBusMasteringTheEngineReportsAnError()
    {
        var rig = new IdeTestRig(IdeTestRig.Disk(IdeTestRig.NumberedDisk(64)));
        rig.Pci.WriteConfig(1, 1, 0x04, 2, 0x0001);        // I/O only
        rig.SetPrdTable(0, (IdeTestRig.DmaBuffer, 512));
        rig.Lba28(0xC8, 0, 1);
        rig.StartBusMaster(toMemory: true);
        Assert.Equal(BmError | BmInterrupt, rig.BusMasterStatus() & 0x07);
        Assert.Equal(0x41, rig.Status());
        Assert.Equal(0, rig.ReadMemory(IdeTestRig.DmaBuffer, 4)[0]);
    }

    [Fact]
    public void HostFailureDuringDmaIsADeviceError()
    {
        var failing = new FailingBlockDevice(IdeTestRig.NumberedDisk(64), failFromOffset: 0, failReads: true, failWrites: true);
        var rig = new IdeTestRig(new IdeDriveConfiguration(IdeMediaKind.Disk, failing));
        rig.SetPrdTable(0, (IdeTestRig.DmaBuffer, 512));
        rig.Lba28(0xC8, 3, 1);
        rig.StartBusMaster(toMemory: true);
        Assert.True(rig.Irq14.IsAsserted);
        Assert.Equal(BmInterrupt, rig.BusMasterStatus() & 0x07);
        Assert.Equal(0x41, rig.Status());
        Assert.Equal(0x40, rig.Error());
        rig.StopBusMaster();

        rig.Lba28(0xCA, 3, 1);
        rig.StartBusMaster(toMemory: false);
        Assert.Equal(0x41, rig.Status());
        Assert.Equal(0x04, rig.Error());
    }

    [Fact]
    public void AtapiReadThroughDma()
    {
        var disc = IdeTestRig.NumberedDisk(100, 2048);
        var rig = new IdeTestRig(null, null, IdeTestRig.Cdrom(disc));
        rig.SetPrdTable(1, (IdeTestRig.DmaBuffer, 0), (IdeTestRig.DmaBuffer + 0x10000, 2048)); // 64 KiB (count 0) then one block
        rig.Packet([0xA8, 0, 0, 0, 0, 7, 0, 0, 0, 33], dma: true);
        rig.StartBusMaster(toMemory: true, channel: 1);
        Assert.True(rig.Irq15.IsAsserted);
        Assert.Equal(0x50, rig.Status(IdeTestRig.Secondary));
        Assert.Equal(0x03, rig.Register(2, IdeTestRig.Secondary));
        Assert.Equal(BmInterrupt, rig.BusMasterStatus(1) & 0x07);
        Assert.Equal(7, BinaryPrimitives.ReadInt32LittleEndian(rig.ReadMemory(IdeTestRig.DmaBuffer, 4)));
        Assert.Equal(38, BinaryPrimitives.ReadInt32LittleEndian(rig.ReadMemory(IdeTestRig.DmaBuffer + 0xF800, 4)));
        Assert.Equal(39, BinaryPrimitives.ReadInt32LittleEndian(rig.ReadMemory(IdeTestRig.DmaBuffer + 0x10000, 4)));

        rig.StopBusMaster(1);
        rig.SetPrdTable(1, (IdeTestRig.DmaBuffer, 64));
        rig.Packet([0x12, 0, 0, 0, 36], dma: true);        // a short reply by DMA
        rig.StartBusMaster(toMemory: true, channel: 1);
        Assert.Equal(0x05, rig.ReadMemory(IdeTestRig.DmaBuffer, 1)[0]);
        Assert.Equal(BmActive | BmInterrupt, rig.BusMasterStatus(1) & 0x07); // the region was longer than the reply
    }

    [Fact]
    public void BusMasterRegistersReadBackAsWritten()
    {
        var rig = new IdeTestRig(IdeTestRig.Disk(IdeTestRig.NumberedDisk(8)));
        rig.Ports.WriteDoubleWord(IdeTestRig.BusMasterBase + 12, 0x1234_5677);
        Assert.Equal(0x1234_5674u, rig.Ports.ReadDoubleWord(IdeTestRig.BusMasterBase + 12)); // dword aligned
        rig.Ports.WriteByte(IdeTestRig.BusMasterBase + 10, 0x60);
        Assert.Equal(0x60, rig.BusMasterStatus(1));        // drive DMA capable bits are plain read/write
        rig.Ports.WriteByte(IdeTestRig.BusMasterBase + 8, 0x08);
        Assert.Equal(0x08, rig.Ports.ReadByte(IdeTestRig.BusMasterBase + 8));
    }
}
