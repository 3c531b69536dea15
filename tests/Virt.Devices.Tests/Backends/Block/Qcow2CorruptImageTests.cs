using Xunit;

namespace Virt.Devices.Tests.Backends.Block;

/// <summary>
/// One corrupt image per field: each fails with a <see cref="DiskImageFormatException"/> naming the file and the field,
/// at open for the header and the tables read then, at the first access for per-cluster metadata.
/// </summary>
public sealed class Qcow2CorruptImageTests
{
    private const int ClusterSize = 4096;

    [Fact]
    public void Truncated_header() => AssertOpenFails(path => File.WriteAllBytes(path, File.ReadAllBytes(path)[..50]), "header");

    [Fact]
    public void Truncated_version_3_header() => AssertOpenFails(path => File.WriteAllBytes(path, File.ReadAllBytes(path)[..80]), "header");

    [Fact]
    public void Wrong_magic() => AssertOpenFails(path => Qcow2File.Put32(path, 0, 0x514649FA), "magic");

    [Theory]
    [InlineData(1u)]
    [InlineData(4u)]
    public void Unsupported_version(uint version) => AssertOpenFails(path => Qcow2File.Put32(path, Qcow2File.Version, version), "version");

    [Theory]
    [InlineData(8u)]
    [InlineData(22u)]
    [InlineData(63u)]
    public void Cluster_bits_out_of_range(uint bits) => AssertOpenFails(path => Qcow2File.Put32(path, Qcow2File.ClusterBits, bits), "cluster_bits");

    [Fact]
    public void Absurd_size() => AssertOpenFails(path => Qcow2File.Put64(path, Qcow2File.Size, 1UL << 62), "size");

    [Fact]
    public void L1_table_too_small_for_the_size() => AssertOpenFails(path => Qcow2File.Put64(path, Qcow2File.Size, 1UL << 40), "l1_size");

    [Fact]
    public void L1_table_beyond_the_file() => AssertOpenFails(path => Qcow2File.Put64(path, Qcow2File.L1TableOffset, 1UL << 30), "l1_table_offset");

    [Fact]
    public void L1_table_offset_not_aligned() => AssertOpenFails(path => Qcow2File.Put64(path, Qcow2File.L1TableOffset, Qcow2File.U64(path, Qcow2File.L1TableOffset) + 512), "l1_table_offset");

    [Fact]
    public void Refcount_table_offset_not_aligned() => AssertOpenFails(path => Qcow2File.Put64(path, Qcow2File.RefcountTableOffset, ClusterSize + 8), "refcount_table_offset");

    [Fact]
    public void Refcount_table_beyond_the_file() => AssertOpenFails(path => Qcow2File.Put32(path, Qcow2File.RefcountTableClusters, 1000), "refcount_table_offset");

    [Fact]
    public void Refcount_table_larger_than_the_limit() => AssertOpenFails(path => Qcow2File.Put32(path, Qcow2File.RefcountTableClusters, uint.MaxValue), "refcount_table_clusters");

    [Fact]
    public void Refcount_width_overflowing_64_bits() => AssertOpenFails(path => Qcow2File.Put32(path, Qcow2File.RefcountOrder, 7), "refcount_order");

    [Fact]
    public void Header_length_out_of_range() => AssertOpenFails(path => Qcow2File.Put32(path, Qcow2File.HeaderLength, 100), "header_length");

    [Fact]
    public void Unknown_incompatible_feature() => AssertOpenFails(path => Qcow2File.Put64(path, Qcow2File.IncompatibleFeatures, 1UL << 10), "incompatible_features");

    [Fact]
    public void External_data_file_feature() => AssertOpenFails(path => Qcow2File.Put64(path, Qcow2File.IncompatibleFeatures, 1UL << 2), "incompatible_features");

    [Fact]
    public void Encryption() => AssertOpenFails(path => Qcow2File.Put32(path, Qcow2File.CryptMethod, 1), "crypt_method");

    [Fact]
    public void Backing_file_name_too_long() => AssertOpenFails(
        path =>
        {
            Qcow2File.Put64(path, Qcow2File.BackingFileOffset, 512);
            Qcow2File.Put32(path, Qcow2File.BackingFileSize, 2000);
        },
        "backing_file_size");

    [Fact]
    public void Backing_file_name_outside_the_first_cluster() => AssertOpenFails(
        path =>
        {
            Qcow2File.Put64(path, Qcow2File.BackingFileOffset, ClusterSize - 4);
            Qcow2File.Put32(path, Qcow2File.BackingFileSize, 16);
        },
        "backing_file_offset");

    [Fact]
    public void L2_table_offset_not_aligned() => AssertOpenFails(path => Qcow2File.Put64(path, (long)Qcow2File.U64(path, Qcow2File.L1TableOffset), Qcow2File.CopiedFlag | (ClusterSize * 3) + 512), "l1_table[0]");

    [Fact]
    public void L2_table_beyond_the_file() => AssertOpenFails(path => Qcow2File.Put64(path, (long)Qcow2File.U64(path, Qcow2File.L1TableOffset), Qcow2File.CopiedFlag | (1UL << 30)), "l1_table[0]");

    [Fact]
    public void Refcount_block_not_aligned() => AssertOpenFails(path => Qcow2File.Put64(path, (long)Qcow2File.U64(path, Qcow2File.RefcountTableOffset), (2 * ClusterSize) + 16), "refcount_table[0]");

    [Fact]
    public void A_dirty_image_opens_read_only_but_not_for_writing()
    {
        using var dir = new TempDirectory();
        string path = MakeImage(dir);
        Qcow2File.Put64(path, Qcow2File.IncompatibleFeatures, 1);
        using (Qcow2BlockDevice readOnly = Qcow2BlockDevice.Open(path))
        {
            readOnly.Read(0, new byte[512]);
        }

        var e = Assert.Throws<DiskImageFormatException>(() => Qcow2BlockDevice.Open(path, readOnly: false));
        Assert.Equal("incompatible_features", e.Field);
        Assert.Contains("dirty", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Data_cluster_offset_not_aligned_fails_at_the_first_access()
    {
        using var dir = new TempDirectory();
        string path = MakeImage(dir);
        long entry = Qcow2File.L2EntryOffset(path, 0);
        Qcow2File.Put64(path, entry, Qcow2File.U64(path, entry) + 512);
        using Qcow2BlockDevice disk = Qcow2BlockDevice.Open(path);
        disk.Read(ClusterSize, new byte[512]);
        var e = Assert.Throws<DiskImageFormatException>(() => disk.Read(0, new byte[512]));
        Assert.IsAssignableFrom<IOException>(e);
        Assert.Equal(path, e.FilePath);
        Assert.Equal("l2_entry[0]", e.Field);
        Assert.Contains(path, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Compressed_garbage_fails_at_the_first_access()
    {
        using var dir = new TempDirectory();
        string path = MakeImage(dir);
        long host = new FileInfo(path).Length;
        Qcow2File.Put(path, host, Enumerable.Repeat((byte)0xFF, 512).ToArray());
        Qcow2File.Put64(path, Qcow2File.L2EntryOffset(path, 1), Qcow2File.CompressedFlag | (ulong)host);
        using Qcow2BlockDevice disk = Qcow2BlockDevice.Open(path);
        var e = Assert.Throws<DiskImageFormatException>(() => disk.Read(ClusterSize, new byte[512]));
        Assert.Equal("l2_entry[1]", e.Field);
    }

    [Fact]
    public void A_cycle_of_backing_files()
    {
        using var dir = new TempDirectory();
        string a = dir.File("a.qcow2");
        string b = dir.File("b.qcow2");
        Qcow2BlockDevice.Create(a, 1 << 20, ClusterSize).Dispose();
        Qcow2BlockDevice.CreateOverlay(b, "a.qcow2", DiskImageFormat.Qcow2, ClusterSize).Dispose();

        // Point a at b: a -> b -> a. The name goes after the header in a's first cluster.
        Qcow2File.Put(a, 1024, System.Text.Encoding.UTF8.GetBytes("b.qcow2"));
        Qcow2File.Put64(a, Qcow2File.BackingFileOffset, 1024);
        Qcow2File.Put32(a, Qcow2File.BackingFileSize, 7);
        var e = Assert.Throws<DiskImageFormatException>(() => Qcow2BlockDevice.Open(b));
        Assert.Equal("backing_file", e.Field);
        Assert.Contains("cycle", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_chain_of_backing_files_deeper_than_the_limit()
    {
        using var dir = new TempDirectory();
        Qcow2BlockDevice.Create(dir.File("0.qcow2"), 1 << 20, ClusterSize).Dispose();
        for (int i = 1; i <= Qcow2BlockDevice.MaxBackingChainDepth; i++)
        {
            if (i < Qcow2BlockDevice.MaxBackingChainDepth)
            {
                Qcow2BlockDevice.CreateOverlay(dir.File($"{i}.qcow2"), $"{i - 1}.qcow2", DiskImageFormat.Qcow2, ClusterSize).Dispose();
            }
            else
            {
                // Creating the deepest layer opens the chain below it, which is at the limit; write this one by hand.
                File.Copy(dir.File($"{i - 1}.qcow2"), dir.File($"{i}.qcow2"));
                Qcow2File.Put(dir.File($"{i}.qcow2"), 1024, System.Text.Encoding.UTF8.GetBytes($"{i - 1}.qcow2"));
                Qcow2File.Put64(dir.File($"{i}.qcow2"), Qcow2File.BackingFileOffset, 1024);
                Qcow2File.Put32(dir.File($"{i}.qcow2"), Qcow2File.BackingFileSize, (uint)$"{i - 1}.qcow2".Length);
            }
        }

        using (Qcow2BlockDevice.Open(dir.File($"{Qcow2BlockDevice.MaxBackingChainDepth - 1}.qcow2")))
        {
        }

        var e = Assert.Throws<DiskImageFormatException>(() => Qcow2BlockDevice.Open(dir.File($"{Qcow2BlockDevice.MaxBackingChainDepth}.qcow2")));
        Assert.Equal("backing_file", e.Field);
        Assert.Contains("deeper", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_backing_file()
    {
        using var dir = new TempDirectory();
        dir.RandomFile("base.img", 1 << 20, 1);
        string overlay = dir.File("o.qcow2");
        Qcow2BlockDevice.CreateOverlay(overlay, "base.img", DiskImageFormat.Raw, ClusterSize).Dispose();
        File.Delete(dir.File("base.img"));
        var e = Assert.Throws<DiskImageFormatException>(() => Qcow2BlockDevice.Open(overlay));
        Assert.Equal(overlay, e.FilePath);
        Assert.Equal("backing_file", e.Field);
        Assert.Contains("base.img", e.Message, StringComparison.Ordinal);
    }

    private static string MakeImage(TempDirectory dir)
    {
        string path = dir.File("bad.qcow2");
        using Qcow2BlockDevice disk = Qcow2BlockDevice.Create(path, 1 << 20, ClusterSize);
        disk.Write(0, new byte[ClusterSize]);
        return path;
    }

    private static void AssertOpenFails(Action<string> corrupt, string field)
    {
        using var dir = new TempDirectory();
        string path = MakeImage(dir);
        corrupt(path);
        var e = Assert.Throws<DiskImageFormatException>(() => Qcow2BlockDevice.Open(path));
        Assert.Equal(path, e.FilePath);
        Assert.Equal(field, e.Field);
        Assert.Contains(path, e.Message, StringComparison.Ordinal);
        Assert.Contains(field, e.Message, StringComparison.Ordinal);

        // Probing opens it as qcow2 too, and fails the same way.
        var probed = Assert.Throws<DiskImageFormatException>(() => DiskImage.Open(path, DiskImageFormat.Qcow2));
        Assert.Equal(field, probed.Field);
    }
}
