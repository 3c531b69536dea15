using Virt.Devices;
using Xunit;

namespace Virt.Machine.Tests.Floppy;

/// <summary>The board's DMA pair and floppy controller as <see cref="MachineBuilder.WithFloppyDrive"/> wires them.</summary>
public sealed class FloppyMachineTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void EveryBoardHasTheDmaControllerAndNoFloppyControllerWithoutADrive(bool pci)
    {
        using Machine machine = new MachineBuilder().WithPciBus(pci).Build();
        Assert.NotNull(machine.FindDevice<Dma8237>());
        Assert.Null(machine.FindDevice<Floppy82077>());
        machine.Ports.WriteByte(0x81, 0x5A);
        Assert.Equal(0x5A, machine.Ports.ReadByte(0x81));
        Assert.Equal(0xFF, machine.Ports.ReadByte(0x0F));               // every channel masked after power-on
        Assert.Equal(0xFF, machine.Ports.ReadByte(0x3F4));              // no floppy controller: open bus
        Assert.Equal(0x00, machine.FindDevice<Rtc146818>()!.ReadCmos(CmosLayout.FloppyDriveTypes));
    }

    [Theory]
    [InlineData(false, 1_474_560, 368_640, 0x41)]
    [InlineData(true, 2_949_120, 0, 0x50)]
    [InlineData(true, 737_280, 1_228_800, 0x32)]
    public void WithFloppyDriveAddsTheControllerAndSetsTheCmosDriveTypes(bool pci, int sizeA, int sizeB, int expectedTypes)
    {
        MachineBuilder builder = new MachineBuilder().WithPciBus(pci).WithFloppyDrive(0, new MemoryBlockDevice(sizeA));
        if (sizeB > 0)
        {
            builder.WithFloppyDrive(1, new MemoryBlockDevice(sizeB));
        }

        using Machine machine = builder.Build();
        Rtc146818 rtc = machine.FindDevice<Rtc146818>()!;
        Assert.Equal(expectedTypes, rtc.ReadCmos(CmosLayout.FloppyDriveTypes));
        int equipment = rtc.ReadCmos(CmosLayout.Equipment);
        Assert.Equal(1, equipment & 1);                                  // floppy drives present
        Assert.Equal(sizeB > 0 ? 1 : 0, equipment >> 6);                 // drive count - 1
        Assert.NotNull(machine.FindDevice<Floppy82077>());
        machine.Ports.WriteByte(0x3F2, 0x0C);
        Assert.Equal(0x80, machine.Ports.ReadByte(0x3F4));               // out of reset, ready for a command
    }

    [Fact]
    public void AnImageOfNoFloppySizeIsRefusedAtBuildNamingTheOption()
    {
        MachineBuilder builder = new MachineBuilder().WithFloppyDrive(1, new MemoryBlockDevice(1_000_448, name: "odd.img"));
        MachineConfigurationException e = Assert.Throws<MachineConfigurationException>(() => builder.Build());
        Assert.Contains("WithFloppyDrive(1)", e.Message, StringComparison.Ordinal);
        Assert.Contains("odd.img", e.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentOutOfRangeException>(() => new MachineBuilder().WithFloppyDrive(2, new MemoryBlockDevice(1_474_560)));
    }

    [Fact]
    public void AMachineWithAFloppySnapshotsAndRestoresTheControllerAndDmaState()
    {
        // The floppy is on an overlay (a writable image without one is refused, see DiskSnapshotTests), whose contents
        // the snapshot carries: the sector written before it reads back after the restore.
        using Machine machine = new MachineBuilder().WithFloppyDrive(0, new MemoryBlockDevice(1_474_560)).WithDiskSnapshot().Build();
        IBlockDevice floppy = Assert.IsType<CopyOnWriteBlockDevice>(machine.FindDevice<Floppy82077>()!.GetMedium(0));
        floppy.Write(512 * 17, Enumerable.Repeat((byte)0x6B, 512).ToArray());
        machine.Ports.WriteByte(0x3F2, 0x1C);
        machine.Ports.WriteByte(0x3F5, 0x03);                            // SPECIFY, first byte only: mid-command
        machine.Ports.WriteByte(0x04, 0x34);                             // DMA channel 2 address low byte
        using var stream = new MemoryStream();
        machine.SaveSnapshot(stream);
        Floppy82077State fdc = machine.FindDevice<Floppy82077>()!.SaveState();
        Dma8237State dma = machine.FindDevice<Dma8237>()!.SaveState();

        machine.Ports.WriteByte(0x3F2, 0x00);
        machine.Ports.WriteByte(0x0D, 0);
        floppy.Write(512 * 17, new byte[512]);
        stream.Position = 0;
        machine.RestoreSnapshot(stream);

        Assert.Equal(fdc, machine.FindDevice<Floppy82077>()!.SaveState());
        Assert.Equal(dma, machine.FindDevice<Dma8237>()!.SaveState());
        Assert.Equal(0x90, machine.Ports.ReadByte(0x3F4));               // RQM and busy: the command goes on
        byte[] sector = new byte[512];
        floppy.Read(512 * 17, sector);
        Assert.All(sector, b => Assert.Equal(0x6B, b));
    }
}
