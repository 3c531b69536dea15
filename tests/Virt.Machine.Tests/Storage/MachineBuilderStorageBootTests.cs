using Virt.Devices;
using Virt.Machine.Boot;
using Xunit;

namespace Virt.Machine.Tests.Storage;

/// <summary><see cref="MachineBuilder.WithBootOrder"/> and <see cref="MachineBuilder.WithDiskSnapshot"/>.</summary>
public sealed class MachineBuilderStorageBootTests
{
    private const int SectorSize = 512;

    /// <summary>A 1.44 MB floppy's capacity.</summary>
    private const int FloppyBytes = 1_474_560;

    [Theory]
    [InlineData("dca", 0x23, 0x10)]
    [InlineData("a", 0x01, 0x00)]
    [InlineData("nc", 0x24, 0x00)]
    public void TheBootOrderGoesToTheCmosBytesSeaBiosReads(string order, byte firstAndSecond, byte third)
    {
        // CMOS 3Dh: first device in bits 3:0, second in 7:4; 38h: third in 7:4. 1 floppy, 2 disk, 3 CD, 4 network.
        using Machine machine = new MachineBuilder().WithBootOrder(order).Build();
        Rtc146818 rtc = Assert.Single(machine.Devices.OfType<Rtc146818>());
        Assert.Equal(firstAndSecond, rtc.ReadCmos(CmosBootOrder.FirstAndSecondOffset));
        Assert.Equal(third, rtc.ReadCmos(CmosBootOrder.ThirdOffset));
    }

    [Fact]
    public void TheBootOrderOverridesTheFirmwareConfigDefault()
    {
        using Machine machine = new MachineBuilder().WithFirmwareConfig().WithBootOrder("d").Build();
        Rtc146818 rtc = Assert.Single(machine.Devices.OfType<Rtc146818>());
        Assert.Equal("d", CmosBootOrder.Decode(rtc.ReadCmos(CmosBootOrder.FirstAndSecondOffset), rtc.ReadCmos(CmosBootOrder.ThirdOffset)));
    }

    [Theory]
    [InlineData("x")]
    [InlineData("cc")]
    [InlineData("acdn")]
    public void ABadBootOrderFailsTheBuildNamingTheSetting(string order)
    {
        MachineConfigurationException e = Assert.Throws<MachineConfigurationException>(() => new MachineBuilder().WithBootOrder(order).Build());
        Assert.Equal(MachineSetting.BootOrder, e.Setting);
        Assert.StartsWith("WithBootOrder: ", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void WithDiskSnapshotTheControllersWriteToAnOverlayAndTheHostsDevicesNeverChange(bool scratchFile)
    {
        string scratch = Directory.CreateTempSubdirectory("virt-snapshot-test-").FullName;
        try
        {
            using var disk = new MemoryBlockDevice(64 * SectorSize);
            using var cd = new MemoryBlockDevice(4 * 2048, sectorSize: 2048, readOnly: true);
            using var floppy = new MemoryBlockDevice(FloppyBytes);
            using var readOnlyDisk = new MemoryBlockDevice(8 * SectorSize, readOnly: true);
            using (Machine machine = new MachineBuilder()
                .WithPciBus()
                .WithIdeDrive(0, disk)
                .WithIdeDrive(1, readOnlyDisk)
                .WithIdeDrive(2, cd, IdeMediaKind.Cdrom)
                .WithFloppyDrive(0, floppy)
                .WithDiskSnapshot(scratchDirectory: scratchFile ? scratch : null)
                .Build())
            {
                Piix3Ide ide = machine.FindDevice<Piix3Ide>()!;
                CopyOnWriteBlockDevice overlay = Assert.IsType<CopyOnWriteBlockDevice>(ide.GetMedium(0));
                Assert.Same(disk, overlay.Base);
                Assert.Equal(scratchFile, overlay.IsFileBacked);
                Assert.Equal(scratchFile ? 2 : 0, Directory.GetFiles(scratch).Length); // one scratch file for the disk, one for the floppy

                // Read-only media need no overlay: the guest cannot write them anyway.
                Assert.Same(readOnlyDisk, ide.GetMedium(1));
                Assert.Same(cd, ide.GetMedium(2));

                // What the controller writes lands in the overlay and reads back from it; the host's disk stays zero.
                byte[] sector = Enumerable.Repeat((byte)0xA5, SectorSize).ToArray();
                overlay.Write(5 * SectorSize, sector);
                byte[] back = new byte[SectorSize];
                overlay.Read(5 * SectorSize, back);
                Assert.Equal(sector, back);
                disk.Read(5 * SectorSize, back);
                Assert.All(back, b => Assert.Equal(0, b));

                // The floppy has its overlay too (the machine owns it); the builder checked its size through it.
                Assert.NotNull(machine.FindDevice<Floppy82077>());
            }

            // The machine disposed its overlays (deleting scratch files) but not the host's devices.
            Assert.Empty(Directory.GetFiles(scratch));
            disk.Read(0, new byte[SectorSize]);
            floppy.Read(0, new byte[SectorSize]);
        }
        finally
        {
            Directory.Delete(scratch, recursive: true);
        }
    }

    [Fact]
    public void AForkOfAMachineWithDiskOverlaysGetsOverlaysOfItsOwn()
    {
        using var disk = new MemoryBlockDevice(8 * SectorSize);
        using Machine machine = new MachineBuilder().WithIdeDrive(0, disk).WithDiskSnapshot().Build();
        using Machine fork = machine.Fork();
        IBlockDevice parentMedium = machine.FindDevice<Piix3Ide>()!.GetMedium(0)!;
        IBlockDevice forkMedium = fork.FindDevice<Piix3Ide>()!.GetMedium(0)!;
        Assert.IsType<CopyOnWriteBlockDevice>(parentMedium);
        Assert.IsType<CopyOnWriteBlockDevice>(forkMedium);
        Assert.NotSame(parentMedium, forkMedium);
        forkMedium.Write(0, Enumerable.Repeat((byte)9, SectorSize).ToArray());
        byte[] parentSector = new byte[SectorSize];
        parentMedium.Read(0, parentSector);
        Assert.All(parentSector, b => Assert.Equal(0, b));
    }

    [Fact]
    public void WithoutDiskSnapshotTheControllerUsesTheHostsDevice()
    {
        using var disk = new MemoryBlockDevice(8 * SectorSize);
        using Machine machine = new MachineBuilder().WithIdeDrive(0, disk).WithDiskSnapshot(enabled: false).Build();
        Assert.Same(disk, machine.FindDevice<Piix3Ide>()!.GetMedium(0));
    }
}
