using System.IO.Compression;
using Xunit;

namespace Virt.Devices.Tests.Backends.Block;

public sealed class Qcow2BlockDeviceTests
{
    private const int Sector = 512;

    [Theory]
    [InlineData(2, 512)]
    [InlineData(3, 512)]
    [InlineData(3, 4096)]
    [InlineData(2, 65536)]
    [InlineData(3, 2 * 1024 * 1024)]
    public void Data_written_reads_back_after_reopening_and_the_refcounts_are_consistent(int version, int clusterSize)
    {
        using var dir = new TempDirectory();
        string path = dir.File("disk.qcow2");
        const int capacity = 4 << 20;
        byte[] model = new byte[capacity];
        using (Qcow2BlockDevice disk = Qcow2BlockDevice.Create(path, capacity, clusterSize, version))
        {
            Assert.False(disk.IsReadOnly);
            Assert.Equal(version, disk.Version);
            Assert.Equal(clusterSize, disk.ClusterSizeInBytes);
            byte[] probe = new byte[Sector * 4];
            disk.Read(capacity - probe.Length, probe);
            Assert.All(probe, b => Assert.Equal(0, b));
            var random = new Random(version * clusterSize);
            for (int i = 0; i < 40; i++)
            {
                int sector = random.Next(capacity / Sector);
                int count = Math.Min(random.Next(1, 40), (capacity / Sector) - sector);
                byte[] data = TempDirectory.RandomBytes(count * Sector, i);
                disk.Write(sector * Sector, data);
                data.CopyTo(model, sector * Sector);
            }

            disk.Flush();
        }

        using (Qcow2BlockDevice disk = Qcow2BlockDevice.Open(path))
        {
            Assert.True(disk.IsReadOnly);
            Assert.Equal(capacity, disk.CapacityInBytes);
            byte[] all = new byte[capacity];
            disk.Read(0, all);
            Assert.Equal(model, all);
            Assert.Throws<InvalidOperationException>(() => disk.Write(0, new byte[Sector]));
        }

        Assert.Empty(Qcow2Checker.Check(path));
    }

    [Fact]
    public void Small_clusters_grow_the_refcount_table_and_stay_consistent()
    {
        // 512-byte clusters: one refcount table cluster covers 64 blocks of 256 clusters, 8 MiB of file. Writing 12 MiB
        // makes the table move (twice as large) at least once.
        using var dir = new TempDirectory();
        string path = dir.File("small.qcow2");
        const int capacity = 16 << 20;
        long tableBefore;
        byte[] data = TempDirectory.RandomBytes(12 << 20, 1);
        using (Qcow2BlockDevice disk = Qcow2BlockDevice.Create(path, capacity, 512))
        {
            tableBefore = (long)Qcow2File.U64(path, Qcow2File.RefcountTableOffset);
            for (int offset = 0; offset < data.Length; offset += 64 * 1024)
            {
                disk.Write(offset, data.AsSpan(offset, 64 * 1024));
            }
        }

        Assert.NotEqual(tableBefore, (long)Qcow2File.U64(path, Qcow2File.RefcountTableOffset));
        Assert.True(Qcow2File.U32(path, Qcow2File.RefcountTableClusters) > 1);
        Assert.Empty(Qcow2Checker.Check(path));
        using Qcow2BlockDevice reopened = Qcow2BlockDevice.Open(path);
        byte[] back = new byte[data.Length];
        reopened.Read(0, back);
        Assert.Equal(data, back);
    }

    [Fact]
    public void An_overlay_reads_its_raw_backing_file_and_never_writes_it()
    {
        using var dir = new TempDirectory();
        string basePath = dir.RandomFile("base.img", 1 << 20, seed: 2);
        string hash = TempDirectory.Sha256(basePath);
        byte[] model = File.ReadAllBytes(basePath);
        string overlay = dir.File("overlay.qcow2");
        using (Qcow2BlockDevice disk = Qcow2BlockDevice.CreateOverlay(overlay, "base.img", clusterSizeInBytes: 4096))
        {
            Assert.Equal(model.Length, disk.CapacityInBytes);
            Assert.Equal(Path.GetFullPath(basePath), disk.BackingFilePath);
            Assert.True(disk.Backing!.IsReadOnly);

            // A partial-cluster write copies the rest of the cluster from the backing file.
            byte[] data = TempDirectory.RandomBytes(Sector, 3);
            disk.Write(4096 + Sector, data);
            data.CopyTo(model, 4096 + Sector);
            byte[] all = new byte[model.Length];
            disk.Read(0, all);
            Assert.Equal(model, all);
        }

        Assert.Equal(hash, TempDirectory.Sha256(basePath));
        using IBlockDevice again = DiskImage.Open(overlay);
        byte[] back = new byte[model.Length];
        again.Read(0, back);
        Assert.Equal(model, back);
        Assert.Empty(Qcow2Checker.Check(overlay));
    }

    [Fact]
    public void A_chain_of_qcow2_backing_files_reads_through_every_layer()
    {
        using var dir = new TempDirectory();
        byte[] model = new byte[1 << 20];
        string bottom = dir.File("a.qcow2");
        using (Qcow2BlockDevice a = Qcow2BlockDevice.Create(bottom, model.Length, 4096))
        {
            byte[] data = TempDirectory.RandomBytes(64 * 1024, 4);
            a.Write(0, data);
            data.CopyTo(model, 0);
        }

        string middle = dir.File("b.qcow2");
        using (Qcow2BlockDevice b = Qcow2BlockDevice.CreateOverlay(middle, bottom, DiskImageFormat.Qcow2, 512))
        {
            byte[] data = TempDirectory.RandomBytes(8 * Sector, 5);
            b.Write(16 * Sector, data);
            data.CopyTo(model, 16 * Sector);
        }

        string top = dir.File("c.qcow2");
        string bottomHash = TempDirectory.Sha256(bottom);
        string middleHash = TempDirectory.Sha256(middle);
        using (Qcow2BlockDevice c = Qcow2BlockDevice.CreateOverlay(top, "b.qcow2"))
        {
            byte[] data = TempDirectory.RandomBytes(3 * Sector, 6);
            c.Write(20 * Sector, data);
            data.CopyTo(model, 20 * Sector);
            byte[] all = new byte[model.Length];
            c.Read(0, all);
            Assert.Equal(model, all);
        }

        Assert.Equal(bottomHash, TempDirectory.Sha256(bottom));
        Assert.Equal(middleHash, TempDirectory.Sha256(middle));
    }

    [Fact]
    public void Zero_clusters_read_as_zeros_over_a_backing_file_and_take_writes()
    {
        using var dir = new TempDirectory();
        string basePath = dir.RandomFile("base.img", 64 * 4096, seed: 7);
        byte[] model = File.ReadAllBytes(basePath);
        string path = dir.File("z.qcow2");
        using (Qcow2BlockDevice disk = Qcow2BlockDevice.CreateOverlay(path, basePath, DiskImageFormat.Raw, 4096))
        {
            disk.Write(3 * 4096, new byte[4096]);
        }

        // Cluster 3: a preallocated zero cluster; cluster 5: a zero cluster without a host cluster.
        long entry3 = Qcow2File.L2EntryOffset(path, 3);
        Qcow2File.Put64(path, entry3, Qcow2File.U64(path, entry3) | Qcow2File.ZeroFlag);
        Qcow2File.Put64(path, Qcow2File.L2EntryOffset(path, 5), Qcow2File.ZeroFlag);
        Array.Clear(model, 3 * 4096, 4096);
        Array.Clear(model, 5 * 4096, 4096);
        using (Qcow2BlockDevice disk = Qcow2BlockDevice.Open(path, readOnly: false))
        {
            byte[] all = new byte[model.Length];
            disk.Read(0, all);
            Assert.Equal(model, all);

            // A partial write keeps the rest of a zero cluster zero (not the backing file's bytes).
            byte[] data = TempDirectory.RandomBytes(Sector, 8);
            disk.Write(3 * 4096, data);
            disk.Write((5 * 4096) + Sector, data);
            data.CopyTo(model, 3 * 4096);
            data.CopyTo(model, (5 * 4096) + Sector);
            disk.Read(0, all);
            Assert.Equal(model, all);
        }

        Assert.Empty(Qcow2Checker.Check(path));
    }

    [Fact]
    public void A_version_2_image_refuses_the_zero_flag_at_access()
    {
        using var dir = new TempDirectory();
        string path = dir.File("v2.qcow2");
        using (Qcow2BlockDevice disk = Qcow2BlockDevice.Create(path, 1 << 20, 4096, version: 2))
        {
            disk.Write(0, new byte[Sector]);
        }

        Qcow2File.Put64(path, Qcow2File.L2EntryOffset(path, 1), Qcow2File.ZeroFlag);
        using Qcow2BlockDevice reopened = Qcow2BlockDevice.Open(path);
        reopened.Read(0, new byte[4096]);
        var e = Assert.Throws<DiskImageFormatException>(() => reopened.Read(4096, new byte[Sector]));
        Assert.Equal("l2_entry[1]", e.Field);
    }

    [Fact]
    public void Compressed_clusters_read_and_a_write_replaces_them_releasing_their_refcount()
    {
        using var dir = new TempDirectory();
        string path = dir.File("c.qcow2");
        const int clusterSize = 4096;
        byte[] model = new byte[1 << 20];
        using (Qcow2BlockDevice disk = Qcow2BlockDevice.Create(path, model.Length, clusterSize))
        {
            disk.Write(0, new byte[Sector]);
        }

        // A compressible cluster, deflated raw (as QEMU's zlib compression type stores it) and appended to the file.
        byte[] plain = new byte[clusterSize];
        for (int i = 0; i < plain.Length; i++)
        {
            plain[i] = (byte)("compressed cluster "[i % 19] + (i / 512));
        }

        byte[] compressed;
        using (var output = new MemoryStream())
        {
            using (var deflate = new DeflateStream(output, CompressionLevel.Optimal, leaveOpen: true))
            {
                deflate.Write(plain);
            }

            compressed = output.ToArray();
        }

        Assert.True(compressed.Length < clusterSize);
        long hostOffset = new FileInfo(path).Length + 96;
        Qcow2File.Put(path, hostOffset, compressed);
        int offsetBits = 62 - (12 - 8);
        long additionalSectors = ((hostOffset % Sector) + compressed.Length - 1) / Sector;
        Qcow2File.Put64(path, Qcow2File.L2EntryOffset(path, 2), Qcow2File.CompressedFlag | ((ulong)additionalSectors << offsetBits) | (ulong)hostOffset);
        long hostCluster = hostOffset / clusterSize;
        Qcow2File.Put16(path, Qcow2File.RefcountOffset(path, hostCluster), 1);
        plain.CopyTo(model, 2 * clusterSize);

        using (Qcow2BlockDevice disk = Qcow2BlockDevice.Open(path, readOnly: false))
        {
            byte[] all = new byte[model.Length];
            disk.Read(0, all);
            Assert.Equal(model, all);
            byte[] data = TempDirectory.RandomBytes(Sector, 9);
            disk.Write((2 * clusterSize) + Sector, data);
            data.CopyTo(model, (2 * clusterSize) + Sector);
            disk.Read(0, all);
            Assert.Equal(model, all);
        }

        Assert.Equal(0u, Qcow2File.U32(path, Qcow2File.RefcountOffset(path, hostCluster)) >> 16);
        Assert.Empty(Qcow2Checker.Check(path));
    }

    [Fact]
    public async Task The_asynchronous_members_match_the_synchronous_ones()
    {
        using var dir = new TempDirectory();
        using Qcow2BlockDevice disk = Qcow2BlockDevice.Create(dir.File("a.qcow2"), 1 << 20, 4096);
        byte[] data = TempDirectory.RandomBytes(3 * Sector, 1);
        await disk.WriteAsync(7 * Sector, data);
        await disk.FlushAsync();
        byte[] back = new byte[data.Length];
        await disk.ReadAsync(7 * Sector, back);
        Assert.Equal(data, back);
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await disk.ReadAsync(0, new byte[Sector], cancelled.Token));
    }

    [Fact]
    public void Create_refuses_bad_arguments()
    {
        using var dir = new TempDirectory();
        Assert.Throws<ArgumentOutOfRangeException>(() => Qcow2BlockDevice.Create(dir.File("a"), 1000));
        Assert.Throws<ArgumentOutOfRangeException>(() => Qcow2BlockDevice.Create(dir.File("b"), 1 << 20, clusterSizeInBytes: 3000));
        Assert.Throws<ArgumentOutOfRangeException>(() => Qcow2BlockDevice.Create(dir.File("c"), 1 << 20, clusterSizeInBytes: 256));
        Assert.Throws<ArgumentOutOfRangeException>(() => Qcow2BlockDevice.Create(dir.File("d"), 1 << 20, version: 4));
        Assert.Throws<ArgumentOutOfRangeException>(() => Qcow2BlockDevice.Create(dir.File("e"), 1L << 40, clusterSizeInBytes: 512));
        Assert.False(File.Exists(dir.File("a")));
    }

    [Fact]
    public void A_read_only_image_read_from_several_threads_at_once_gives_every_thread_its_data()
    {
        // A machine and its forks share a read-only base image and may run on different threads. Reads fill the L2
        // cache, so without the device's lock the threads corrupt it (or each other's reads). 512-byte clusters make
        // one L2 table per 32 KiB: one written sector in each of 2048 spans makes 2048 tables, loaded concurrently
        // into a fresh cache in each round.
        using var dir = new TempDirectory();
        string path = dir.File("shared.qcow2");
        const int span = 32 * 1024;
        const int spans = 2048;
        byte[] data = TempDirectory.RandomBytes(spans * 512, 7);
        using (Qcow2BlockDevice disk = Qcow2BlockDevice.Create(path, (long)span * spans, 512))
        {
            for (int k = 0; k < spans; k++)
            {
                disk.Write(((long)k * span) + SectorOf(k), data.AsSpan(k * 512, 512));
            }
        }

        const int threads = 4;
        var failures = new System.Collections.Concurrent.ConcurrentQueue<string>();
        for (int round = 0; round < 40 && failures.IsEmpty; round++)
        {
            using Qcow2BlockDevice shared = Qcow2BlockDevice.Open(path);
            Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, t =>
            {
                var random = new Random((round * threads) + t);
                byte[] buffer = new byte[512];
                for (int i = 0; i < spans && failures.IsEmpty; i++)
                {
                    int k = random.Next(spans);
                    try
                    {
                        shared.Read(((long)k * span) + SectorOf(k), buffer);
                    }
                    catch (Exception e) when (e is not OutOfMemoryException)
                    {
                        failures.Enqueue($"round {round} thread {t}: {e.GetType().Name} reading span {k}");
                        return;
                    }

                    if (!buffer.AsSpan().SequenceEqual(data.AsSpan(k * 512, 512)))
                    {
                        failures.Enqueue($"round {round} thread {t}: wrong data in span {k}");
                        return;
                    }
                }
            });
        }

        Assert.Empty(failures);

        static int SectorOf(int k) => (k * 7 % 64) * 512;
    }
}
