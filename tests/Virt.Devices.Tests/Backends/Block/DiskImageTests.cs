using Xunit;

namespace Virt.Devices.Tests.Backends.Block;

public sealed class DiskImageTests
{
    [Fact]
    public void Auto_probes_qcow2_by_its_magic_and_raw_otherwise()
    {
        using var dir = new TempDirectory();
        string raw = dir.RandomFile("disk.img", 4096, seed: 1);
        string qcow2 = dir.File("disk.qcow2");
        Qcow2BlockDevice.Create(qcow2, 1 << 20).Dispose();
        Assert.Equal(DiskImageFormat.Raw, DiskImage.Probe(raw));
        Assert.Equal(DiskImageFormat.Qcow2, DiskImage.Probe(qcow2));
        using IBlockDevice a = DiskImage.Open(raw);
        using IBlockDevice b = DiskImage.Open(qcow2);
        Assert.IsType<RawImageBlockDevice>(a);
        Assert.IsType<Qcow2BlockDevice>(b);
        Assert.True(a.IsReadOnly);
        Assert.True(b.IsReadOnly);
        Assert.Equal(1 << 20, b.CapacityInBytes);
    }

    [Fact]
    public void An_explicit_format_is_not_probed()
    {
        using var dir = new TempDirectory();
        string qcow2 = dir.File("disk.qcow2");
        Qcow2BlockDevice.Create(qcow2, 1 << 20).Dispose();
        using IBlockDevice asRaw = DiskImage.Open(qcow2, DiskImageFormat.Raw);
        Assert.IsType<RawImageBlockDevice>(asRaw);
        Assert.Equal(new FileInfo(qcow2).Length, asRaw.CapacityInBytes);
    }

    [Fact]
    public void A_cd_sector_size_is_refused_for_qcow2()
    {
        using var dir = new TempDirectory();
        string qcow2 = dir.File("disk.qcow2");
        Qcow2BlockDevice.Create(qcow2, 1 << 20).Dispose();
        Assert.Throws<ArgumentException>(() => DiskImage.Open(qcow2, sectorSize: 2048));
        using IBlockDevice cd = DiskImage.Open(dir.RandomFile("cd.iso", 4096, 2), sectorSize: 2048);
        Assert.Equal(2048, cd.SectorSize);
    }
}
