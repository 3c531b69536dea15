using Xunit;

namespace Virt.Devices.Tests.Backends.Block;

public sealed class RawImageBlockDeviceTests
{
    [Fact]
    public void Reads_the_files_bytes_and_is_read_only_by_default()
    {
        using var dir = new TempDirectory();
        string path = dir.RandomFile("disk.img", 64 * 512, seed: 1);
        byte[] expected = File.ReadAllBytes(path);
        using var disk = new RawImageBlockDevice(path);
        Assert.True(disk.IsReadOnly);
        Assert.Equal(512, disk.SectorSize);
        Assert.Equal(expected.Length, disk.CapacityInBytes);
        byte[] buffer = new byte[3 * 512];
        disk.Read(5 * 512, buffer);
        Assert.Equal(expected.AsSpan(5 * 512, 3 * 512).ToArray(), buffer);
        Assert.Throws<InvalidOperationException>(() => disk.Write(0, new byte[512]));
        Assert.Equal(expected, File.ReadAllBytes(path));
    }

    [Fact]
    public async Task Writes_reach_the_file_when_opened_writable_sync_and_async()
    {
        using var dir = new TempDirectory();
        string path = dir.RandomFile("disk.img", 16 * 512, seed: 2);
        byte[] model = File.ReadAllBytes(path);
        using (var disk = new RawImageBlockDevice(path, readOnly: false))
        {
            byte[] a = TempDirectory.RandomBytes(1024, 3);
            byte[] b = TempDirectory.RandomBytes(512, 4);
            disk.Write(512, a);
            await disk.WriteAsync(15 * 512, b);
            await disk.FlushAsync();
            a.CopyTo(model, 512);
            b.CopyTo(model, 15 * 512);
            byte[] back = new byte[model.Length];
            await disk.ReadAsync(0, back);
            Assert.Equal(model, back);
        }

        Assert.Equal(model, File.ReadAllBytes(path));
    }

    [Fact]
    public void A_read_only_image_with_a_partial_last_sector_is_padded_with_zeros()
    {
        using var dir = new TempDirectory();
        string path = dir.RandomFile("cd.iso", (3 * 2048) + 100, seed: 5);
        byte[] bytes = File.ReadAllBytes(path);
        using var cd = new RawImageBlockDevice(path, readOnly: true, sectorSize: 2048);
        Assert.Equal(4 * 2048, cd.CapacityInBytes);
        byte[] last = new byte[2048];
        cd.Read(3 * 2048, last);
        Assert.Equal(bytes.AsSpan(3 * 2048, 100).ToArray(), last.AsSpan(0, 100).ToArray());
        Assert.All(last.AsSpan(100).ToArray(), b => Assert.Equal(0, b));
    }

    [Fact]
    public void A_writable_image_must_be_a_whole_number_of_sectors()
    {
        using var dir = new TempDirectory();
        string path = dir.RandomFile("odd.img", 1000, seed: 6);
        var e = Assert.Throws<DiskImageFormatException>(() => new RawImageBlockDevice(path, readOnly: false));
        Assert.Equal(path, e.FilePath);
        Assert.Equal("length", e.Field);
        Assert.Contains(path, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Requests_outside_the_device_or_unaligned_are_refused()
    {
        using var dir = new TempDirectory();
        string path = dir.RandomFile("disk.img", 8 * 512, seed: 7);
        using var disk = new RawImageBlockDevice(path, readOnly: false);
        Assert.Throws<ArgumentOutOfRangeException>(() => disk.Read(8 * 512, new byte[512]));
        Assert.Throws<ArgumentOutOfRangeException>(() => disk.Read(100, new byte[512]));
        Assert.Throws<ArgumentOutOfRangeException>(() => disk.Write(0, new byte[100]));
    }

    [Fact]
    public void A_missing_file_is_an_io_error_naming_it()
    {
        using var dir = new TempDirectory();
        string path = dir.File("missing.img");
        var e = Assert.ThrowsAny<IOException>(() => new RawImageBlockDevice(path));
        Assert.Contains("missing.img", e.Message, StringComparison.Ordinal);
    }
}
