using Xunit;

namespace Virt.Devices.Tests.Backends.Block;

/// <summary>
/// qcow2 against QEMU's own tools (Debian's qemu-utils): images qemu-img makes read identically in Virt (with
/// <c>qemu-img convert -O raw</c> as the reference), and images Virt writes pass <c>qemu-img check</c> and
/// <c>qemu-img compare</c> against the data written.
/// </summary>
[Trait("Category", "Acceptance")]
public sealed class Qcow2QemuImgAcceptanceTests
{
    private const int Sector = 512;
    private const int ImageBytes = 6 << 20;

    [Theory]
    [InlineData("0.10", 512)]
    [InlineData("0.10", 65536)]
    [InlineData("1.1", 512)]
    [InlineData("1.1", 4096)]
    [InlineData("1.1", 65536)]
    [InlineData("1.1", 2 * 1024 * 1024)]
    public void Images_converted_by_qemu_img_read_identically(string compat, int clusterSize)
    {
        using var dir = new TempDirectory();
        string source = WriteSource(dir, seed: clusterSize);
        string image = dir.File("img.qcow2");
        QemuImg.Ok("convert", "-f", "raw", "-O", "qcow2", "-o", $"compat={compat},cluster_size={clusterSize}", source, image);
        AssertReadsAsQemu(dir, image, expectedVersion: compat == "0.10" ? 2 : 3);
    }

    [Theory]
    [InlineData("0.10", 4096)]
    [InlineData("1.1", 65536)]
    [InlineData("1.1", 512)]
    public void Compressed_images_read_identically_and_take_writes(string compat, int clusterSize)
    {
        using var dir = new TempDirectory();
        string source = WriteSource(dir, seed: 3);
        string image = dir.File("c.qcow2");
        QemuImg.Ok("convert", "-c", "-f", "raw", "-O", "qcow2", "-o", $"compat={compat},cluster_size={clusterSize}", source, image);
        var compressed = System.Text.RegularExpressions.Regex.Match(QemuImg.Ok("check", image), @"([0-9.]+)% compressed clusters");
        Assert.True(compressed.Success && double.Parse(compressed.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) > 0, "qemu-img made no compressed clusters");
        byte[] model = AssertReadsAsQemu(dir, image, expectedVersion: compat == "0.10" ? 2 : 3);

        // Writing over compressed clusters allocates normal ones and releases the compressed data's refcounts.
        WriteRandomly(image, model, seed: clusterSize, writes: 60);
        AssertQemuAgrees(dir, image, model);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(8)]
    [InlineData(32)]
    [InlineData(64)]
    public void Refcount_widths_read_and_write(int refcountBits)
    {
        using var dir = new TempDirectory();
        string source = WriteSource(dir, seed: refcountBits);
        string image = dir.File("r.qcow2");
        QemuImg.Ok("convert", "-f", "raw", "-O", "qcow2", "-o", $"refcount_bits={refcountBits},cluster_size=4096", source, image);
        byte[] model = AssertReadsAsQemu(dir, image, expectedVersion: 3);
        WriteRandomly(image, model, seed: refcountBits, writes: 80);
        AssertQemuAgrees(dir, image, model);
    }

    [Fact]
    public void Backing_files_and_zero_clusters_written_by_qemu_io_read_identically()
    {
        using var dir = new TempDirectory();
        string source = WriteSource(dir, seed: 11);
        string baseImage = dir.File("base.qcow2");
        QemuImg.Ok("convert", "-f", "raw", "-O", "qcow2", "-o", "cluster_size=65536", source, baseImage);
        string baseHash = TempDirectory.Sha256(baseImage);
        string overlay = dir.File("overlay.qcow2");
        QemuImg.Ok("create", "-f", "qcow2", "-o", "cluster_size=4096", "-b", "base.qcow2", "-F", "qcow2", overlay);

        // Data, then zeroes over data the backing file has (zero clusters), then a discard.
        QemuImg.Io("-f", "qcow2", "-c", "write -P 0x5a 100k 12k", "-c", "write -z 1M 128k", "-c", "write -P 0x33 2M 64k", "-c", "write -z 2M 8k", overlay);
        byte[] model = AssertReadsAsQemu(dir, overlay, expectedVersion: 3);
        using (IBlockDevice opened = DiskImage.Open(overlay))
        {
            Assert.Equal(Path.GetFullPath(baseImage), ((Qcow2BlockDevice)opened).BackingFilePath);
        }

        // Partial-cluster writes copy the rest from the backing file.
        WriteRandomly(overlay, model, seed: 12, writes: 60);
        AssertQemuAgrees(dir, overlay, model);
        Assert.Equal(baseHash, TempDirectory.Sha256(baseImage));
    }

    [Fact]
    public void An_image_with_internal_snapshots_reads_its_active_state_and_refuses_writing()
    {
        using var dir = new TempDirectory();
        string source = WriteSource(dir, seed: 31);
        string image = dir.File("snap.qcow2");
        QemuImg.Ok("convert", "-f", "raw", "-O", "qcow2", source, image);
        QemuImg.Ok("snapshot", "-c", "first", image);
        QemuImg.Io("-f", "qcow2", "-c", "write -P 0x77 64k 64k", image);
        byte[] model = AssertReadsAsQemu(dir, image, expectedVersion: 3);
        Assert.Equal(0x77, model[64 * 1024]);
        var e = Assert.Throws<DiskImageFormatException>(() => DiskImage.Open(image, DiskImageFormat.Qcow2, readOnly: false));
        Assert.Equal("nb_snapshots", e.Field);
    }

    [Theory]
    [InlineData(2, 512)]
    [InlineData(2, 65536)]
    [InlineData(3, 512)]
    [InlineData(3, 4096)]
    [InlineData(3, 65536)]
    [InlineData(3, 2 * 1024 * 1024)]
    public void Images_created_and_written_by_virt_pass_qemu_img_check_and_compare(int version, int clusterSize)
    {
        using var dir = new TempDirectory();
        string image = dir.File("virt.qcow2");
        byte[] model = new byte[ImageBytes];
        Qcow2BlockDevice.Create(image, model.Length, clusterSize, version).Dispose();
        WriteRandomly(image, model, seed: version * clusterSize, writes: 120);
        Assert.Contains(version == 2 ? "compat: 0.10" : "compat: 1.1", QemuImg.Ok("info", image), StringComparison.Ordinal);
        AssertQemuAgrees(dir, image, model);
    }

    [Fact]
    public void An_image_that_outgrows_its_refcount_table_passes_qemu_img_check()
    {
        using var dir = new TempDirectory();
        string image = dir.File("grow.qcow2");
        byte[] model = TempDirectory.RandomBytes(20 << 20, 5);
        using (Qcow2BlockDevice disk = Qcow2BlockDevice.Create(image, model.Length, 512))
        {
            for (int offset = 0; offset < model.Length; offset += 1 << 20)
            {
                disk.Write(offset, model.AsSpan(offset, 1 << 20));
            }
        }

        AssertQemuAgrees(dir, image, model);
    }

    [Fact]
    public void A_virt_overlay_over_a_raw_base_is_a_valid_qemu_overlay_and_leaves_the_base_alone()
    {
        using var dir = new TempDirectory();
        string source = WriteSource(dir, seed: 21);
        string hash = TempDirectory.Sha256(source);
        byte[] model = File.ReadAllBytes(source);
        string overlay = dir.File("snap.qcow2");
        Qcow2BlockDevice.CreateOverlay(overlay, Path.GetFileName(source), DiskImageFormat.Raw, 65536).Dispose();
        WriteRandomly(overlay, model, seed: 22, writes: 100);
        string info = QemuImg.Ok("info", overlay);
        Assert.Contains("backing file: source.raw", info, StringComparison.Ordinal);
        Assert.Contains("backing file format: raw", info, StringComparison.Ordinal);
        AssertQemuAgrees(dir, overlay, model);
        Assert.Equal(hash, TempDirectory.Sha256(source));
    }

    /// <summary>A raw file with random data, runs of zeros (left unallocated by convert) and compressible text.</summary>
    private static string WriteSource(TempDirectory dir, int seed)
    {
        byte[] bytes = new byte[ImageBytes];
        var random = new Random(seed);
        for (int chunk = 0; chunk < bytes.Length / 65536; chunk++)
        {
            Span<byte> span = bytes.AsSpan(chunk * 65536, 65536);
            switch (random.Next(3))
            {
                case 0:
                    random.NextBytes(span[..(random.Next(1, 128) * Sector)]);
                    break;
                case 1:
                    for (int i = 0; i < span.Length; i++)
                    {
                        span[i] = (byte)("The quick brown fox "[i % 20] ^ (chunk & 7));
                    }

                    break;
                default:
                    break;
            }
        }

        string path = dir.File("source.raw");
        File.WriteAllBytes(path, bytes);
        return path;
    }

    private static byte[] AssertReadsAsQemu(TempDirectory dir, string image, int expectedVersion)
    {
        string reference = dir.File("reference.raw");
        File.Delete(reference);
        QemuImg.Ok("convert", "-f", "qcow2", "-O", "raw", image, reference);
        byte[] expected = File.ReadAllBytes(reference);
        using IBlockDevice disk = DiskImage.Open(image);
        var qcow2 = Assert.IsType<Qcow2BlockDevice>(disk);
        Assert.Equal(expectedVersion, qcow2.Version);
        Assert.Equal(expected.Length, disk.CapacityInBytes);
        byte[] actual = new byte[expected.Length];
        disk.Read(0, actual);
        Assert.True(expected.AsSpan().SequenceEqual(actual), $"{image} reads differently from qemu-img convert -O raw");
        return actual;
    }

    private static void WriteRandomly(string image, byte[] model, int seed, int writes)
    {
        var random = new Random(seed);
        using IBlockDevice disk = DiskImage.Open(image, DiskImageFormat.Qcow2, readOnly: false);
        int sectors = model.Length / Sector;
        for (int i = 0; i < writes; i++)
        {
            int sector = random.Next(sectors);
            int count = Math.Min(random.Next(1, 300), sectors - sector);
            byte[] data = TempDirectory.RandomBytes(count * Sector, random.Next());
            disk.Write(sector * Sector, data);
            data.CopyTo(model, sector * Sector);
        }

        disk.Flush();
    }

    private static void AssertQemuAgrees(TempDirectory dir, string image, byte[] model)
    {
        QemuImg.AssertClean(image);
        string expected = dir.File("expected.raw");
        File.WriteAllBytes(expected, model);
        QemuImg.AssertSame(image, "qcow2", expected);
    }
}
