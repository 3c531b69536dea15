using Virt.Devices.Tests.Fakes;
using Xunit;

namespace Virt.Devices.Tests.Floppy82077;

public sealed class Floppy82077Tests
{
    private const int Sector = 512;
    private const byte ReadMtMfmSk = 0xE6;
    private const byte ReadMfm = 0x46;
    private const byte WriteMfm = 0x45;
    private const byte WriteMtMfm = 0xC5;

    private static byte[] Pattern(int size, int seed)
    {
        byte[] data = new byte[size];
        new Random(seed).NextBytes(data);
        return data;
    }

    private static long Offset(FloppyGeometry g, int c, int h, int r) => ((((long)c * g.Heads) + h) * g.SectorsPerTrack + r - 1) * Sector;

    [Fact]
    public void ResetRaisesIrq6AfterADelayAndFourSenseInterruptsReportReadyChangedForEachDrive()
    {
        var rig = new FdcRig(new MemoryBlockDevice(1_474_560));
        rig.Out(FdcRig.Dor, 0x00);
        Assert.Equal(0, rig.In(FdcRig.Msr));                       // held in reset: no request for master
        rig.Out(FdcRig.Dor, 0x0C);
        Assert.False(rig.Irq.IsAsserted);                           // not before the guest is waiting for it
        rig.Clock.Advance(Devices.Floppy82077.CommandDelayNanoseconds);
        Assert.True(rig.Irq.IsAsserted);

        for (int drive = 0; drive < 4; drive++)
        {
            rig.Command(0x08);
            Assert.Equal(new byte[] { (byte)(0xC0 | drive), 0 }, rig.Results());
            Assert.False(rig.Irq.IsAsserted);
        }

        rig.Command(0x08);
        Assert.Equal(new byte[] { 0x80 }, rig.Results());          // nothing pending: invalid command
        Assert.Equal(0x80, rig.In(FdcRig.Msr));
    }

    [Fact]
    public void WithoutTheDmaGateTheInterruptDoesNotReachIrq6()
    {
        var rig = new FdcRig(new MemoryBlockDevice(1_474_560));
        rig.Out(FdcRig.Dor, 0x00);
        rig.Out(FdcRig.Dor, 0x04);
        rig.Clock.Advance(Devices.Floppy82077.CommandDelayNanoseconds);
        Assert.False(rig.Irq.IsAsserted);
        Assert.Equal(0x80, rig.In(0x3F0) & 0x80);                  // SRA shows the pending interrupt
        rig.Out(FdcRig.Dor, 0x0C);
        Assert.True(rig.Irq.IsAsserted);
    }

    [Fact]
    public void VersionDumpregConfigureAndLockAnswerAsAn82077AA()
    {
        var rig = new FdcRig(new MemoryBlockDevice(1_474_560));
        rig.ResetAndSense();
        rig.Command(0x10);
        Assert.Equal(new byte[] { 0x90 }, rig.Results());
        rig.Command(0x18);                                          // PART ID is not an 82077AA command
        Assert.Equal(new byte[] { 0x80 }, rig.Results());

        rig.Command(0x03, 0xAF, 0x02);                              // SPECIFY
        rig.Command(0x13, 0x00, 0x57, 0x05);                        // CONFIGURE: EIS, EFIFO, POLL off, threshold 7; pretrack 5
        rig.Command(0x94);                                          // LOCK
        Assert.Equal(new byte[] { 0x10 }, rig.Results());
        rig.Out(FdcRig.Msr, 0x80);                                  // DSR software reset
        rig.Clock.Advance(Devices.Floppy82077.CommandDelayNanoseconds);
        rig.Command(0x0E);                                          // DUMPREG
        byte[] dump = rig.Results();
        Assert.Equal(10, dump.Length);
        Assert.Equal(0xAF, dump[4]);
        Assert.Equal(0x02, dump[5]);
        Assert.Equal(0x80, dump[7] & 0x80);                         // LOCK
        Assert.Equal(0x57, dump[8]);                                // kept across the reset because of LOCK
        Assert.Equal(0x05, dump[9]);

        rig.Command(0x14);                                          // UNLOCK
        Assert.Equal(new byte[] { 0x00 }, rig.Results());
        rig.Out(FdcRig.Msr, 0x80);
        rig.Clock.Advance(Devices.Floppy82077.CommandDelayNanoseconds);
        rig.Command(0x0E);
        Assert.Equal(0x20, rig.Results()[8]);                       // back to the default (FIFO disabled)
    }

    [Fact]
    public void SeekAndRecalibrateMoveTheHeadInterruptAndClearDiskChange()
    {
        var rig = new FdcRig(new MemoryBlockDevice(1_474_560));
        rig.ResetAndSense();
        Assert.Equal(0x80, rig.In(FdcRig.Dir));                    // a new disk: changed

        rig.Command(0x0F, 0x04, 42);                                // SEEK drive 0 head 1 to 42
        Assert.Equal(0x01, rig.In(FdcRig.Msr) & 0x0F);              // drive 0 busy seeking
        Assert.False(rig.Irq.IsAsserted);
        rig.Clock.Advance(Devices.Floppy82077.SeekDelayNanoseconds);
        Assert.True(rig.Irq.IsAsserted);
        rig.Command(0x08);
        Assert.Equal(new byte[] { 0x24, 42 }, rig.Results());       // SE, head 1, drive 0; PCN 42
        Assert.Equal(0, rig.In(FdcRig.Msr) & 0x0F);
        Assert.Equal(0x00, rig.In(FdcRig.Dir));

        rig.Command(0x8F, 0x00, 2);                                 // relative seek outwards by 2
        rig.Clock.Advance(Devices.Floppy82077.SeekDelayNanoseconds);
        rig.Command(0x08);
        Assert.Equal(new byte[] { 0x20, 40 }, rig.Results());

        rig.Command(0x07, 0x00);                                    // RECALIBRATE
        rig.Clock.Advance(Devices.Floppy82077.SeekDelayNanoseconds);
        rig.Command(0x08);
        Assert.Equal(new byte[] { 0x20, 0 }, rig.Results());
        rig.Command(0x04, 0x00);                                    // SENSE DRIVE STATUS: RDY, T0, two-sided, writable
        Assert.Equal(new byte[] { 0x38 }, rig.Results());

        rig.Command(0x07, 0x01);                                    // RECALIBRATE a drive that is not there
        rig.Clock.Advance(Devices.Floppy82077.SeekDelayNanoseconds);
        rig.Command(0x08);
        Assert.Equal(0x71, rig.Results()[0]);                       // abnormal, SE, equipment check, drive 1
    }

    [Fact]
    public void ReadDataThroughDmaCopiesTheSectorsAcrossBothHeadsWithMultiTrack()
    {
        FloppyGeometry g = FloppyGeometry.FromCapacity(1_474_560);
        byte[] image = Pattern(1_474_560, 1);
        var rig = new FdcRig(new MemoryBlockDevice(image));
        rig.ResetAndSense(g.DataRate);
        rig.Seek(0, 0, 5);
        rig.DmaPorts.Program8(2, 0x10000, 4 * Sector, FdcRig.DmaWrite);

        byte[] result = rig.Run(FdcRig.DataCommand(ReadMtMfmSk, 0, 5, 0, 17, 18));

        // Sectors 17 and 18 of head 0, then 1 and 2 of head 1; terminal count ends it normally after head 1 sector 2.
        Assert.Equal(new byte[] { 0x04, 0x00, 0x00, 5, 1, 3, 2 }, result); // ST0 reports the head it ended on
        Assert.Equal(image.AsSpan((int)Offset(g, 5, 0, 17), 4 * Sector).ToArray(), rig.Memory.Bytes.AsSpan(0x10000, 4 * Sector).ToArray());
        Assert.False(rig.Irq.IsAsserted);                           // the first result byte cleared it
        Assert.Equal(0x80, rig.In(FdcRig.Msr));
    }

    [Fact]
    public void ReadingToEndOfTrackWithoutTerminalCountEndsWithEndOfCylinder()
    {
        FloppyGeometry g = FloppyGeometry.FromCapacity(1_474_560);
        byte[] image = Pattern(1_474_560, 2);
        var rig = new FdcRig(new MemoryBlockDevice(image));
        rig.ResetAndSense(g.DataRate);
        rig.DmaPorts.Program8(2, 0x20000, 8 * Sector, FdcRig.DmaWrite);

        byte[] result = rig.Run(FdcRig.DataCommand(ReadMfm, 0, 0, 0, 17, 18));

        Assert.Equal(new byte[] { 0x40, 0x80, 0x00, 1, 0, 1, 2 }, result); // abnormal, EN; next ID cylinder 1 sector 1
        Assert.Equal(image.AsSpan((int)Offset(g, 0, 0, 17), 2 * Sector).ToArray(), rig.Memory.Bytes.AsSpan(0x20000, 2 * Sector).ToArray());
    }

    [Fact]
    public void WriteDataThroughDmaReachesTheImage()
    {
        FloppyGeometry g = FloppyGeometry.FromCapacity(2_949_120);
        var device = new MemoryBlockDevice(2_949_120);
        var rig = new FdcRig(device);
        rig.ResetAndSense(g.DataRate);
        rig.Seek(0, 1, 79);
        byte[] data = Pattern(2 * Sector, 3);
        data.CopyTo(rig.Memory.Bytes, 0x30000);
        rig.DmaPorts.Program8(2, 0x30000, 2 * Sector, FdcRig.DmaRead);

        byte[] result = rig.Run(FdcRig.DataCommand(WriteMtMfm, 0, 79, 1, 35, 36));

        Assert.Equal(new byte[] { 0x04, 0, 0, 80, 0, 1, 2 }, result);
        byte[] written = new byte[2 * Sector];
        device.Read(Offset(g, 79, 1, 35), written);
        Assert.Equal(data, written);
    }

    [Fact]
    public void AReadOnlyMediumIsWriteProtected()
    {
        byte[] image = Pattern(1_474_560, 4);
        byte[] before = (byte[])image.Clone();
        var rig = new FdcRig(new MemoryBlockDevice(image, readOnly: true));
        rig.ResetAndSense();
        rig.Command(0x04, 0x00);
        Assert.Equal(0x40, rig.Results()[0] & 0x40);                // ST3 WP
        rig.DmaPorts.Program8(2, 0x30000, Sector, FdcRig.DmaRead);

        byte[] result = rig.Run(FdcRig.DataCommand(WriteMfm, 0, 0, 0, 1, 18));

        Assert.Equal(0x40, result[0] & 0xC0);
        Assert.Equal(0x02, result[1]);                              // ST1 NW
        Assert.Equal(before, image);
    }

    [Fact]
    public void AHostIOExceptionBecomesAnAbnormalTerminationWithDataError()
    {
        var rig = new FdcRig(new FailingBlockDevice(1_474_560));
        rig.ResetAndSense();
        rig.DmaPorts.Program8(2, 0x30000, Sector, FdcRig.DmaWrite);

        byte[] result = rig.Run(FdcRig.DataCommand(ReadMfm, 0, 0, 0, 1, 18));

        Assert.Equal(0x40, result[0] & 0xC0);
        Assert.Equal(0x20, result[1]);                              // ST1 DE
        Assert.Equal(0x80, rig.In(FdcRig.Msr));                     // ready for the next command
    }

    [Fact]
    public void ReadIdNeedsTheMediumsDataRateAndAMedium()
    {
        var rig = new FdcRig(new MemoryBlockDevice(737_280));       // 720 KB: 250 kbit/s
        rig.ResetAndSense(dataRate: 0);
        byte[] wrongRate = rig.Run(0x4A, 0x00);
        Assert.Equal(new byte[] { 0x40, 0x01, 0x00 }, wrongRate[..3]); // abnormal, missing address mark

        rig.Out(FdcRig.Dir, 2);
        rig.Seek(0, 1, 3);
        byte[] id = rig.Run(0x4A, 0x04);
        Assert.Equal(0x04, id[0]);
        Assert.Equal(new byte[] { 3, 1 }, id[3..5]);
        Assert.InRange(id[5], 1, 9);
        Assert.Equal(2, id[6]);

        rig.Fdc.EjectMedium(0);
        Assert.Equal(0x80, rig.In(FdcRig.Dir));
        Assert.Equal(0x01, rig.Run(0x4A, 0x00)[1]);
    }

    [Fact]
    public void NonDmaModeTransfersThroughTheFifo()
    {
        FloppyGeometry g = FloppyGeometry.FromCapacity(1_474_560);
        byte[] image = Pattern(1_474_560, 5);
        var device = new MemoryBlockDevice(image);
        var rig = new FdcRig(device);
        rig.ResetAndSense();
        rig.Command(0x03, 0xAF, 0x03);                               // SPECIFY with ND
        rig.Command(FdcRig.DataCommand(ReadMfm, 0, 0, 1, 18, 18));
        rig.Clock.Advance(Devices.Floppy82077.CommandDelayNanoseconds);
        Assert.True(rig.Irq.IsAsserted);
        Assert.Equal(0xF0, rig.In(FdcRig.Msr));                     // RQM, DIO, NDMA, busy
        byte[] data = new byte[Sector];
        for (int i = 0; i < Sector; i++)
        {
            data[i] = rig.In(FdcRig.Fifo);
        }

        Assert.Equal(image.AsSpan((int)Offset(g, 0, 1, 18), Sector).ToArray(), data);
        Assert.Equal(new byte[] { 0x44, 0x80, 0, 1, 1, 1, 2 }, rig.Results()); // EOT without TC: EN

        rig.Command(FdcRig.DataCommand(WriteMfm, 0, 0, 0, 2, 2));
        rig.Clock.Advance(Devices.Floppy82077.CommandDelayNanoseconds);
        Assert.Equal(0xB0, rig.In(FdcRig.Msr));                     // RQM, NDMA, busy: host to controller
        for (int i = 0; i < Sector; i++)
        {
            rig.Out(FdcRig.Fifo, 0x5A);
        }

        Assert.Equal(0x40, rig.Results()[0] & 0xC0);
        byte[] written = new byte[Sector];
        device.Read(Offset(g, 0, 0, 2), written);
        Assert.All(written, b => Assert.Equal(0x5A, b));
    }

    [Fact]
    public void FormatTrackFillsTheSectorsItNames()
    {
        FloppyGeometry g = FloppyGeometry.FromCapacity(1_474_560);
        var device = new MemoryBlockDevice(Pattern(1_474_560, 6));
        var rig = new FdcRig(device);
        rig.ResetAndSense();
        rig.Seek(0, 1, 7);
        byte[] ids = new byte[18 * 4];
        for (int r = 1; r <= 18; r++)
        {
            ids[(r - 1) * 4] = 7;
            ids[((r - 1) * 4) + 1] = 1;
            ids[((r - 1) * 4) + 2] = (byte)r;
            ids[((r - 1) * 4) + 3] = 2;
        }

        ids.CopyTo(rig.Memory.Bytes, 0x40000);
        rig.DmaPorts.Program8(2, 0x40000, ids.Length, FdcRig.DmaRead);

        byte[] result = rig.Run(0x4D, 0x04, 2, 18, 0x54, 0xF6);

        Assert.Equal(0x04, result[0]);
        byte[] track = new byte[18 * Sector];
        device.Read(Offset(g, 7, 1, 1), track);
        Assert.All(track, b => Assert.Equal(0xF6, b));
        byte[] neighbour = new byte[Sector];
        device.Read(Offset(g, 7, 0, 18), neighbour);
        Assert.Contains(neighbour, b => b != 0xF6);
    }

    [Fact]
    public void AWrongCylinderInTheCommandFindsNoData()
    {
        var rig = new FdcRig(new MemoryBlockDevice(1_474_560));
        rig.ResetAndSense();
        rig.DmaPorts.Program8(2, 0x30000, Sector, FdcRig.DmaWrite);
        byte[] result = rig.Run(FdcRig.DataCommand(ReadMfm, 0, 3, 0, 1, 18)); // the head is on cylinder 0
        Assert.Equal(new byte[] { 0x40, 0x04, 0x10 }, result[..3]);          // ND, wrong cylinder
    }

    [Theory]
    [InlineData(163_840, 40, 1, 8, 2, CmosFloppyDriveType.Drive360K)]
    [InlineData(184_320, 40, 1, 9, 1, CmosFloppyDriveType.Drive360K)]
    [InlineData(327_680, 40, 2, 8, 2, CmosFloppyDriveType.Drive360K)]
    [InlineData(368_640, 40, 2, 9, 1, CmosFloppyDriveType.Drive360K)]
    [InlineData(737_280, 80, 2, 9, 2, CmosFloppyDriveType.Drive720K)]
    [InlineData(1_228_800, 80, 2, 15, 0, CmosFloppyDriveType.Drive1200K)]
    [InlineData(1_474_560, 80, 2, 18, 0, CmosFloppyDriveType.Drive1440K)]
    [InlineData(2_949_120, 80, 2, 36, 3, CmosFloppyDriveType.Drive2880K)]
    public void TheGeometryComesFromTheImageSizeAndItsLastSectorReads(int size, int cylinders, int heads, int sectors, int rate, CmosFloppyDriveType drive)
    {
        FloppyGeometry g = FloppyGeometry.FromCapacity(size);
        Assert.Equal(new FloppyGeometry(cylinders, heads, sectors, rate, drive), g);

        byte[] image = Pattern(size, size);
        var rig = new FdcRig(new MemoryBlockDevice(image));
        rig.ResetAndSense(rate);
        rig.Seek(0, heads - 1, cylinders - 1);
        rig.DmaPorts.Program8(2, 0x50000, Sector, FdcRig.DmaWrite);
        byte[] result = rig.Run(FdcRig.DataCommand(ReadMfm, 0, cylinders - 1, heads - 1, sectors, sectors));
        Assert.Equal(0, result[0] & 0xC0);
        Assert.Equal(image.AsSpan(size - Sector).ToArray(), rig.Memory.Bytes.AsSpan(0x50000, Sector).ToArray());
    }

    [Theory]
    [InlineData(1_474_560 + 512)]
    [InlineData(0)]
    [InlineData(3L << 30)]
    public void ImageSizesOfNoFloppyAreRefused(long size)
    {
        Assert.Throws<ArgumentException>(() => FloppyGeometry.FromCapacity(size));
    }

    [Fact]
    public void StateRoundTripsInTheMiddleOfACommandAndTheRestoredControllerFinishesIt()
    {
        byte[] image = Pattern(1_474_560, 7);
        var rig = new FdcRig(new MemoryBlockDevice(image));
        rig.ResetAndSense();
        rig.Command(0x03, 0xAF, 0x03);                               // non-DMA
        rig.Command(FdcRig.DataCommand(ReadMfm, 0, 0, 0, 3, 3));
        rig.Clock.Advance(Devices.Floppy82077.CommandDelayNanoseconds);
        for (int i = 0; i < 100; i++)
        {
            _ = rig.In(FdcRig.Fifo);
        }

        Devices.Floppy82077State saved = rig.Fdc.SaveState();
        var other = new FdcRig(new MemoryBlockDevice((byte[])image.Clone()));
        other.Fdc.RestoreState(saved);
        Assert.Equal(saved, other.Fdc.SaveState());
        Assert.Equal(image[(2 * Sector) + 100], other.In(FdcRig.Fifo));
        Assert.Throws<ArgumentException>(() => other.Fdc.RestoreState(saved with { Phase = 42 }));
    }

    /// <summary>A medium whose every access fails on the host.</summary>
    private sealed class FailingBlockDevice(long capacity) : IBlockDevice
    {
        public string Name => "failing";

        public int SectorSize => 512;

        public long CapacityInBytes => capacity;

        public bool IsReadOnly => false;

        public void Read(long offset, Span<byte> destination) => throw new IOException("the host disk went away");

        public void Write(long offset, ReadOnlySpan<byte> source) => throw new IOException("the host disk went away");

        public void Flush()
        {
        }

        public ValueTask ReadAsync(long offset, Memory<byte> destination, CancellationToken cancellationToken = default) => throw new IOException("gone");

        public ValueTask WriteAsync(long offset, ReadOnlyMemory<byte> source, CancellationToken cancellationToken = default) => throw new IOException("gone");

        public ValueTask FlushAsync(CancellationToken cancellationToken = default) => ValueTask.CompletedTask;

        public void Dispose()
        {
        }
    }
}
