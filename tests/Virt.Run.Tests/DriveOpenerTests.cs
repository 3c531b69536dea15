using System.Buffers.Binary;
using Virt.Devices;
using Virt.Machine;
using Virt.Run.CommandLine;
using Xunit;

namespace Virt.Run.Tests;

/// <summary>Drives from the command line are opened and checked before the machine is built, each error naming the option and file.</summary>
public sealed class DriveOpenerTests : IDisposable
{
    private const int Sector = 512;
    private const int FloppyBytes = 1_474_560;
    private const uint Qcow2Magic = 0x514649FB;

    private readonly string _directory = Directory.CreateTempSubdirectory("virt-drive-opener-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void AMissingFileIsNamedWithItsOption()
    {
        string path = Path.Combine(_directory, "missing.img");
        RunOptionsException e = Assert.Throws<RunOptionsException>(() => Open(["-hdb", path]));
        Assert.Equal($"-hdb '{path}': the file does not exist", e.Message);
        e = Assert.Throws<RunOptionsException>(() => Open(["-cdrom", _directory]));
        Assert.Equal($"-cdrom '{_directory}': is a directory, not an image file", e.Message);
    }

    [Fact]
    public void AProbedRawImageWarnsLikeQemuAndRefusesAQcow2HeaderInSectorZero()
    {
        string path = File(8 * Sector);
        var warnings = new StringWriter();
        using IBlockDevice device = DriveOpener.Open(Drives(["-hda", path])[0], warnings);
        Assert.Contains($"-hda '{path}': the format was not given and probing guessed raw", warnings.ToString(), StringComparison.Ordinal);
        Assert.IsType<ProbedRawImageGuard>(device);
        Assert.False(device.IsReadOnly);

        // Ordinary writes pass, to sector 0 as well; the qcow2 magic at offset 0 does not, and nothing of it is written.
        byte[] sector = new byte[Sector];
        sector[0] = 0xEB;
        device.Write(0, sector);
        device.Write(Sector, MagicSector());
        Assert.Throws<IOException>(() => device.Write(0, MagicSector()));
        Assert.Throws<IOException>(() => device.WriteAsync(0, MagicSector()).AsTask().GetAwaiter().GetResult());
        byte[] back = new byte[Sector];
        device.Read(0, back);
        Assert.Equal(sector, back);
    }

    [Fact]
    public void AnExplicitRawFormatOrAReadOnlyDriveNeedsNoGuard()
    {
        string path = File(8 * Sector);
        var warnings = new StringWriter();
        using IBlockDevice raw = DriveOpener.Open(Drives(["-drive", $"file={path},format=raw"])[0], warnings);
        Assert.IsNotType<ProbedRawImageGuard>(raw);
        raw.Write(0, MagicSector());
        using IBlockDevice readOnly = DriveOpener.Open(Drives(["-drive", $"file={File(8 * Sector)},readonly=on"])[0], warnings);
        Assert.True(readOnly.IsReadOnly);
        Assert.Empty(warnings.ToString());
    }

    [Fact]
    public void ABadImageIsNamedWithItsOptionAndTheField()
    {
        // Probed as qcow2 from its magic, but nothing else of a header follows.
        string truncated = File(Sector);
        using (FileStream s = System.IO.File.OpenWrite(truncated))
        {
            s.Write(MagicSector().AsSpan(0, 8));
            s.SetLength(8);
        }

        RunOptionsException e = Assert.Throws<RunOptionsException>(() => Open(["-hda", truncated]));
        Assert.StartsWith($"-hda '{truncated}': ", e.Message, StringComparison.Ordinal);
        Assert.IsType<DiskImageFormatException>(e.InnerException);

        // format=qcow2 on a raw file: the magic is wrong.
        string raw = File(8 * Sector);
        e = Assert.Throws<RunOptionsException>(() => Open(["-drive", $"file={raw},format=qcow2"]));
        Assert.StartsWith($"-drive '{raw}': magic: ", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AFloppyImageMustHaveAFloppysSize()
    {
        string path = File(FloppyBytes + Sector);
        RunOptionsException e = Assert.Throws<RunOptionsException>(() => Open(["-fda", path]));
        Assert.StartsWith($"-fda '{path}': {FloppyBytes + Sector} bytes is not the size of a floppy disk (", e.Message, StringComparison.Ordinal);
        Assert.Contains("1440 KiB", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ACdImageIsReadOnlyWith2048ByteSectorsAndNeverQcow2()
    {
        string iso = File(4 * 2048);
        using IBlockDevice cd = DriveOpener.Open(Drives(["-cdrom", iso])[0], TextWriter.Null);
        Assert.True(cd.IsReadOnly);
        Assert.Equal(2048, cd.SectorSize);
        RunOptionsException e = Assert.Throws<RunOptionsException>(() => Open(["-drive", $"file={iso},media=cdrom,format=qcow2"]));
        Assert.Equal($"-drive '{iso}': a CD image must be raw (an ISO file), not qcow2", e.Message);
    }

    [Fact]
    public void ConfigurePutsTheDrivesSnapshotModeAndBootOrderOnTheBuilder()
    {
        string disk = File(64 * Sector);
        string floppy = File(FloppyBytes);
        string iso = File(4 * 2048);
        RunOptions options = RunOptionsParser.Parse(["-drive", $"file={disk},format=raw", "-fda", floppy, "-cdrom", iso, "-snapshot", "-boot", "dac"]);
        using var disposables = new DisposableList();
        var builder = new MachineBuilder().WithPciBus();
        DriveOpener.Configure(builder, options, disposables, TextWriter.Null);
        using (Virt.Machine.Machine machine = builder.Build())
        {
            Piix3Ide ide = machine.FindDevice<Piix3Ide>()!;
            Assert.IsType<CopyOnWriteBlockDevice>(ide.GetMedium(0));
            Assert.Equal(2048, ide.GetMedium(2)!.SectorSize);
            Assert.NotNull(machine.FindDevice<Floppy82077>());
            Rtc146818 rtc = machine.FindDevice<Rtc146818>()!;
            Assert.Equal("dac", Virt.Machine.Boot.CmosBootOrder.Decode(rtc.ReadCmos(Virt.Machine.Boot.CmosBootOrder.FirstAndSecondOffset), rtc.ReadCmos(Virt.Machine.Boot.CmosBootOrder.ThirdOffset)));
        }
    }

    private static byte[] MagicSector()
    {
        byte[] sector = new byte[Sector];
        BinaryPrimitives.WriteUInt32BigEndian(sector, Qcow2Magic);
        return sector;
    }

    private static IReadOnlyList<DriveOptions> Drives(string[] args) => RunOptionsParser.Parse(args).Drives;

    private static void Open(string[] args) => DriveOpener.Open(Drives(args)[0], TextWriter.Null).Dispose();

    private string File(int sizeInBytes)
    {
        string path = Path.Combine(_directory, $"{Guid.NewGuid():N}.img");
        using FileStream s = System.IO.File.Create(path);
        s.SetLength(sizeInBytes);
        return path;
    }
}
