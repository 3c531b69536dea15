using Virt.Run.CommandLine;
using Xunit;

namespace Virt.Run.Tests;

public sealed class RunOptionsParserDriveTests
{
    [Theory]
    [InlineData("-hda", 0)]
    [InlineData("-hdb", 1)]
    [InlineData("-hdc", 2)]
    [InlineData("-hdd", 3)]
    public void HardDiskOptionsAreIdeDisksAtTheirIndex(string option, int index)
    {
        DriveOptions d = Assert.Single(RunOptionsParser.Parse([option, "disk.img"]).Drives);
        Assert.Equal(new DriveOptions { Option = option, Path = "disk.img", Interface = DriveInterface.Ide, Index = index, Media = DriveMedia.Disk }, d);
        Assert.Null(d.Format);
        Assert.False(d.ReadOnly);
    }

    [Fact]
    public void CdromIsTheReadOnlySecondaryMaster()
    {
        DriveOptions d = Assert.Single(RunOptionsParser.Parse(["-cdrom", "boot.iso"]).Drives);
        Assert.Equal(DriveInterface.Ide, d.Interface);
        Assert.Equal(2, d.Index);
        Assert.Equal(DriveMedia.Cdrom, d.Media);
        Assert.True(d.ReadOnly);
    }

    [Theory]
    [InlineData("-fda", 0)]
    [InlineData("-fdb", 1)]
    public void FloppyOptionsAreFloppyDrives(string option, int index)
    {
        DriveOptions d = Assert.Single(RunOptionsParser.Parse([option, "floppy.img"]).Drives);
        Assert.Equal(DriveInterface.Floppy, d.Interface);
        Assert.Equal(index, d.Index);
        Assert.Equal(DriveMedia.Disk, d.Media);
    }

    [Fact]
    public void DriveTakesEveryPropertyAndDoubledCommasInTheFileName()
    {
        DriveOptions d = Assert.Single(RunOptionsParser.Parse(["-drive", "file=a,,b.qcow2,format=qcow2,if=ide,media=disk,readonly=on,index=3"]).Drives);
        Assert.Equal(new DriveOptions { Option = "-drive", Path = "a,b.qcow2", Interface = DriveInterface.Ide, Index = 3, Format = DriveFormat.Qcow2, ReadOnly = true }, d);
    }

    [Fact]
    public void DriveDefaultsAreQemus()
    {
        // QEMU: if=ide, media=disk, writable, format probed, the first free index.
        DriveOptions d = Assert.Single(RunOptionsParser.Parse(["-drive", "file=x.img"]).Drives);
        Assert.Equal(new DriveOptions { Option = "-drive", Path = "x.img" }, d);
    }

    [Fact]
    public void DriveCdromMediaIsReadOnlyAndFloppyDrivesTakeDisks()
    {
        Assert.True(Assert.Single(RunOptionsParser.Parse(["-drive", "file=c.iso,media=cdrom,readonly=off"]).Drives).ReadOnly);
        DriveOptions f = Assert.Single(RunOptionsParser.Parse(["-drive", "file=f.img,if=floppy,format=raw"]).Drives);
        Assert.Equal((DriveInterface.Floppy, 0, DriveFormat.Raw), (f.Interface, f.Index, f.Format));
    }

    [Fact]
    public void DrivesWithoutAnIndexTakeTheFirstFreeOneInCommandLineOrder()
    {
        // As in QEMU: -cdrom holds index 2 from its place on the line, so the drive after it skips to index 1 and the
        // third to index 3.
        RunOptions o = RunOptionsParser.Parse(["-drive", "file=a", "-cdrom", "b", "-drive", "file=c", "-drive", "file=d", "-drive", "file=e,if=floppy", "-fdb", "g"]);
        Assert.Equal(
            [("a", 0), ("b", 2), ("c", 1), ("d", 3), ("e", 0), ("g", 1)],
            o.Drives.Select(d => (d.Path, d.Index)).ToArray());
    }

    [Fact]
    public void SnapshotAndBootOrderAreRecorded()
    {
        RunOptions o = RunOptionsParser.Parse(["-snapshot", "-boot", "order=dc,reboot-timeout=500"]);
        Assert.True(o.Snapshot);
        Assert.Equal("dc", o.BootOrder);
        Assert.Equal(500u, o.BootRebootTimeoutMilliseconds);
        Assert.Equal("d", RunOptionsParser.Parse(["-boot", "d"]).BootOrder);
        Assert.Equal("cad", RunOptionsParser.Parse(["-boot", "CAD"]).BootOrder);
        RunOptions none = RunOptionsParser.Parse([]);
        Assert.False(none.Snapshot);
        Assert.Null(none.BootOrder);
        Assert.Null(none.BootRebootTimeoutMilliseconds);
        Assert.Empty(none.Drives);
    }

    [Theory]
    [InlineData(new[] { "-hda", "a.img", "-drive", "file=b.img,index=0" }, "-drive 'b.img': IDE index 0 is already taken by -hda 'a.img'")]
    [InlineData(new[] { "-drive", "file=a.img", "-hda", "b.img" }, "-hda 'b.img': IDE index 0 is already taken by -drive 'a.img'")]
    [InlineData(new[] { "-cdrom", "a.iso", "-hdc", "c.img" }, "-hdc 'c.img': IDE index 2 is already taken by -cdrom 'a.iso'")]
    [InlineData(new[] { "-fda", "a.img", "-drive", "file=b.img,if=floppy,index=0" }, "-drive 'b.img': floppy index 0 is already taken by -fda 'a.img'")]
    [InlineData(new[] { "-fda", "a", "-fdb", "b", "-drive", "file=c,if=floppy" }, "-drive 'c': no free floppy position (index 0-1 are all taken)")]
    [InlineData(new[] { "-hda", "a", "-hdb", "b", "-hdc", "c", "-hdd", "d", "-drive", "file=e" }, "-drive 'e': no free IDE position (index 0-3 are all taken)")]
    [InlineData(new[] { "-drive", "file=x.iso,if=floppy,media=cdrom" }, "-drive file=x.iso: media=cdrom needs if=ide; a floppy drive takes only disks")]
    [InlineData(new[] { "-drive", "file=x.img,format=vmdk" }, "-drive file=x.img: format=vmdk is not supported (supported: raw, qcow2)")]
    [InlineData(new[] { "-drive", "file=x.img,if=virtio" }, "-drive file=x.img: if=virtio is not supported (supported: ide, floppy)")]
    [InlineData(new[] { "-drive", "file=x.img,media=tape" }, "-drive file=x.img: media=tape is not supported (supported: disk, cdrom)")]
    [InlineData(new[] { "-drive", "file=x.img,index=4" }, "-drive file=x.img: index=4 is beyond the IDE controller's 4 drives (0-3)")]
    [InlineData(new[] { "-drive", "file=x.img,if=floppy,index=2" }, "-drive file=x.img: index=2 is beyond the floppy controller's 2 drives (0-1)")]
    [InlineData(new[] { "-drive", "file=x.img,index=one" }, "-drive file=x.img: index: 'one' is not a number")]
    [InlineData(new[] { "-drive", "file=x.img,readonly=maybe" }, "-drive file=x.img: readonly=maybe is not on or off")]
    [InlineData(new[] { "-drive", "file=x.img,snapshot=on" }, "-drive: unknown property 'snapshot' (supported: file, format, if, index, media, readonly)")]
    [InlineData(new[] { "-drive", "file=x.img,cache=none" }, "-drive: unknown property 'cache' (supported: file, format, if, index, media, readonly)")]
    [InlineData(new[] { "-drive", "format=raw" }, "-drive: 'format=raw' names no file (file=PATH; Virt has no empty drives)")]
    [InlineData(new[] { "-drive", "file=x.img,readonly" }, "-drive: 'readonly' needs a value (readonly=...)")]
    [InlineData(new[] { "-hda", "" }, "-hda: the file name is empty")]
    [InlineData(new[] { "-boot", "order=cx" }, "-boot: order=cx: 'x' in 'cx' is not a boot device (use a, c, d or n).")]
    [InlineData(new[] { "-boot", "cc" }, "-boot: order=cc: 'c' appears twice in 'cc'.")]
    [InlineData(new[] { "-boot", "cadn" }, "-boot: order=cadn: 'cadn' names 4 boot devices; CMOS holds at most 3.")]
    [InlineData(new[] { "-boot", "order=" }, "-boot: order= is empty (use a, c, d or n)")]
    [InlineData(new[] { "-boot", "menu=on" }, "-boot: unknown property 'menu' (supported: order, reboot-timeout; QEMU's once, menu, splash and strict are not)")]
    [InlineData(new[] { "-boot", "" }, "-boot: give the order (for example -boot d or -boot order=dc)")]
    public void BadDrivesAndBootOrdersAreRejectedNamingTheOptionAndFile(string[] args, string message)
    {
        RunOptionsException e = Assert.Throws<RunOptionsException>(() => RunOptionsParser.Parse(args));
        Assert.Equal(message, e.Message);
    }

    [Fact]
    public void PropertiesSplitLikeQemu()
    {
        Assert.Equal(
            [("file", "a,b", true), ("readonly", "on", true), ("d", string.Empty, false)],
            RunOptionsParser.SplitProperties("file=a,,b,readonly=on,d").ToArray());

        // Doubled commas pair up from the left: three commas are a literal comma, then a separator.
        Assert.Equal([("file", "a,", true), ("b", string.Empty, false)], RunOptionsParser.SplitProperties("file=a,,,b").ToArray());
        Assert.Empty(RunOptionsParser.SplitProperties(string.Empty));
    }

    [Fact]
    public void HelpListsTheStorageOptions()
    {
        foreach (string option in new[] { "-hda/-hdb/-hdc/-hdd", "-cdrom", "-fda/-fdb", "-drive file=", "-snapshot", "-boot [order=]" })
        {
            Assert.Contains(option, RunOptionsParser.HelpText, StringComparison.Ordinal);
        }
    }
}
