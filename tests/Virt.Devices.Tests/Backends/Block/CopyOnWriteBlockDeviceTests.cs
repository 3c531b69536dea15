using FsCheck.Xunit;
using Xunit;

namespace Virt.Devices.Tests.Backends.Block;

public sealed class CopyOnWriteBlockDeviceTests
{
    private const int Sector = 512;

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void The_base_file_is_never_written_and_discard_restores_it(bool fileOverlay)
    {
        using var dir = new TempDirectory();
        string basePath = dir.RandomFile("base.img", 256 * Sector, seed: 1);
        string hashBefore = TempDirectory.Sha256(basePath);
        byte[] model = File.ReadAllBytes(basePath);

        // The base is opened writable on purpose: the overlay must not write it even though it could.
        using (CopyOnWriteBlockDevice cow = Open(new RawImageBlockDevice(basePath, readOnly: false), dir, fileOverlay))
        {
            var random = new Random(2);
            for (int i = 0; i < 200; i++)
            {
                int sector = random.Next(256);
                int count = random.Next(1, Math.Min(17, 256 - sector + 1));
                byte[] data = TempDirectory.RandomBytes(count * Sector, i);
                cow.Write(sector * Sector, data);
                data.CopyTo(model, sector * Sector);
            }

            cow.Flush();
            byte[] all = new byte[model.Length];
            cow.Read(0, all);
            Assert.Equal(model, all);
            Assert.True(cow.ChangedChunkCount > 0);
            Assert.Equal(hashBefore, TempDirectory.Sha256(basePath));

            cow.Discard();
            Assert.Equal(0, cow.ChangedChunkCount);
            cow.Read(0, all);
            Assert.Equal(File.ReadAllBytes(basePath), all);
        }

        Assert.Equal(hashBefore, TempDirectory.Sha256(basePath));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Commit_writes_the_changes_to_a_writable_base(bool fileOverlay)
    {
        using var dir = new TempDirectory();
        string basePath = dir.RandomFile("base.img", 64 * Sector, seed: 3);
        byte[] model = File.ReadAllBytes(basePath);
        using (CopyOnWriteBlockDevice cow = Open(new RawImageBlockDevice(basePath, readOnly: false), dir, fileOverlay))
        {
            byte[] data = TempDirectory.RandomBytes(3 * Sector, 4);
            cow.Write(7 * Sector, data);
            data.CopyTo(model, 7 * Sector);
            cow.Commit();
            Assert.Equal(0, cow.ChangedChunkCount);
            byte[] all = new byte[model.Length];
            cow.Read(0, all);
            Assert.Equal(model, all);
        }

        Assert.Equal(model, File.ReadAllBytes(basePath));
    }

    [Fact]
    public void Commit_to_a_read_only_base_is_refused_and_keeps_the_changes()
    {
        using var cow = new CopyOnWriteBlockDevice(new MemoryBlockDevice(16 * Sector, readOnly: true));
        cow.Write(0, Enumerable.Repeat((byte)0xAB, Sector).ToArray());
        Assert.Throws<InvalidOperationException>(cow.Commit);
        byte[] back = new byte[Sector];
        cow.Read(0, back);
        Assert.All(back, b => Assert.Equal(0xAB, b));
    }

    [Fact]
    public void A_failing_commit_propagates_the_io_error_and_keeps_every_change()
    {
        var baseDevice = new FailingBlockDevice(64 * Sector);
        using var cow = new CopyOnWriteBlockDevice(baseDevice);
        byte[] data = TempDirectory.RandomBytes(8 * Sector, 1);
        cow.Write(4 * Sector, data);
        Assert.Equal(0, baseDevice.WriteCount);
        baseDevice.FailWrites = true;
        Assert.Throws<IOException>(cow.Commit);
        Assert.True(cow.ChangedChunkCount > 0);
        byte[] back = new byte[data.Length];
        cow.Read(4 * Sector, back);
        Assert.Equal(data, back);
        baseDevice.FailWrites = false;
        cow.Commit();
        baseDevice.Read(4 * Sector, back);
        Assert.Equal(data, back);
    }

    [Fact]
    public void A_failing_base_read_under_a_partial_chunk_write_leaves_the_chunk_unchanged()
    {
        var baseDevice = new FailingBlockDevice(64 * Sector);
        using var cow = new CopyOnWriteBlockDevice(baseDevice);
        baseDevice.FailReads = true;
        Assert.Throws<IOException>(() => cow.Write(Sector, new byte[Sector]));
        Assert.Equal(0, cow.ChangedChunkCount);
    }

    [Fact]
    public void The_memory_budget_turns_into_an_io_error_and_nothing_already_written_is_lost()
    {
        using var cow = new CopyOnWriteBlockDevice(new MemoryBlockDevice(64 * Sector, readOnly: true), memoryBudgetInBytes: 2 * CopyOnWriteBlockDevice.ChunkSizeInBytes);
        byte[] ones = Enumerable.Repeat((byte)1, CopyOnWriteBlockDevice.ChunkSizeInBytes * 2).ToArray();
        cow.Write(0, ones);
        Assert.Throws<IOException>(() => cow.Write(CopyOnWriteBlockDevice.ChunkSizeInBytes * 4, new byte[Sector]));
        byte[] back = new byte[ones.Length];
        cow.Read(0, back);
        Assert.Equal(ones, back);
    }

    [Fact]
    public void The_scratch_file_is_deleted_on_dispose_and_the_base_disposed_unless_left_open()
    {
        using var dir = new TempDirectory();
        string overlay = dir.File("overlay.tmp");
        var baseDevice = new MemoryBlockDevice(16 * Sector, readOnly: true);
        using (CopyOnWriteBlockDevice cow = CopyOnWriteBlockDevice.CreateWithFile(baseDevice, overlay, leaveBaseOpen: true))
        {
            Assert.True(cow.IsFileBacked);
            Assert.True(File.Exists(overlay));
        }

        Assert.False(File.Exists(overlay));
        baseDevice.Read(0, new byte[Sector]);
        Assert.Throws<IOException>(() => CopyOnWriteBlockDevice.CreateWithFile(baseDevice, dir.RandomFile("exists", 1, 1)));
    }

    [Fact]
    public void Cd_sectors_and_a_capacity_that_is_not_a_whole_chunk_work()
    {
        // 2048-byte sectors, capacity 5 sectors = 2.5 chunks.
        var baseDevice = new MemoryBlockDevice(TempDirectory.RandomBytes(5 * 2048, 9), sectorSize: 2048, readOnly: true);
        byte[] model = new byte[5 * 2048];
        baseDevice.Read(0, model);
        using var cow = new CopyOnWriteBlockDevice(baseDevice);
        Assert.Equal(2048, cow.SectorSize);
        byte[] data = TempDirectory.RandomBytes(2048, 10);
        cow.Write(4 * 2048, data);
        data.CopyTo(model, 4 * 2048);
        byte[] all = new byte[model.Length];
        cow.Read(0, all);
        Assert.Equal(model, all);
    }

    /// <summary>Random writes and reads against a byte-array model, over a base with random contents.</summary>
    [Property(MaxTest = 60)]
    public bool Random_operations_match_a_byte_array_model(uint[] operations, bool fileOverlay)
    {
        const int sectors = 200;
        byte[] baseBytes = TempDirectory.RandomBytes(sectors * Sector, operations.Length);
        byte[] model = (byte[])baseBytes.Clone();
        using var dir = new TempDirectory();
        using CopyOnWriteBlockDevice cow = Open(new MemoryBlockDevice((byte[])baseBytes.Clone(), readOnly: true), dir, fileOverlay);
        foreach (uint op in operations)
        {
            int sector = (int)((op >> 1) % sectors);
            int count = (int)Math.Min(((op >> 9) % 24) + 1, sectors - sector);
            if ((op & 1) != 0)
            {
                byte[] data = TempDirectory.RandomBytes(count * Sector, (int)op);
                cow.Write(sector * Sector, data);
                data.CopyTo(model, sector * Sector);
            }
            else
            {
                byte[] back = new byte[count * Sector];
                cow.Read(sector * Sector, back);
                Assert.Equal(model.AsSpan(sector * Sector, count * Sector).ToArray(), back);
            }
        }

        byte[] all = new byte[model.Length];
        cow.Read(0, all);
        Assert.Equal(model, all);
        byte[] baseNow = new byte[baseBytes.Length];
        cow.Base.Read(0, baseNow);
        Assert.Equal(baseBytes, baseNow);
        return true;
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void The_changed_chunks_can_be_listed_and_put_into_another_overlay(bool fileOverlay)
    {
        using var dir = new TempDirectory();

        // 9 chunks and a half: the last chunk is 2 KiB.
        byte[] baseBytes = TempDirectory.RandomBytes((9 * CopyOnWriteBlockDevice.ChunkSizeInBytes) + (4 * Sector), 5);
        using CopyOnWriteBlockDevice source = Open(new MemoryBlockDevice((byte[])baseBytes.Clone(), readOnly: true), dir, fileOverlay);
        source.Write(Sector, TempDirectory.RandomBytes(Sector, 6));
        source.Write(9 * CopyOnWriteBlockDevice.ChunkSizeInBytes, TempDirectory.RandomBytes(Sector, 7));
        source.Write(4 * CopyOnWriteBlockDevice.ChunkSizeInBytes, TempDirectory.RandomBytes(3 * Sector, 8));
        Assert.Equal([0L, 4L, 9L], source.GetChangedChunks());
        Assert.Equal(10, source.ChunkCount);
        Assert.Equal(4 * Sector, source.GetChunkLength(9));

        var chunks = new Dictionary<long, byte[]>();
        foreach (long chunk in source.GetChangedChunks())
        {
            byte[] bytes = new byte[source.GetChunkLength(chunk)];
            source.Read(chunk * CopyOnWriteBlockDevice.ChunkSizeInBytes, bytes);
            chunks.Add(chunk, bytes);
        }

        // The target had other changes; afterwards it reads exactly as the source.
        using CopyOnWriteBlockDevice target = Open(new MemoryBlockDevice((byte[])baseBytes.Clone(), readOnly: true), dir, fileOverlay);
        target.Write(2 * CopyOnWriteBlockDevice.ChunkSizeInBytes, TempDirectory.RandomBytes(Sector, 9));
        target.ReplaceChanges(chunks);
        Assert.Equal(source.GetChangedChunks(), target.GetChangedChunks());
        byte[] expected = new byte[baseBytes.Length];
        byte[] actual = new byte[baseBytes.Length];
        source.Read(0, expected);
        target.Read(0, actual);
        Assert.Equal(expected, actual);

        // Bad chunks are refused and change nothing.
        Assert.Throws<ArgumentException>(() => target.ReplaceChanges(new Dictionary<long, byte[]> { [1] = new byte[Sector], [10] = new byte[CopyOnWriteBlockDevice.ChunkSizeInBytes] }));
        Assert.Throws<ArgumentException>(() => target.ReplaceChanges(new Dictionary<long, byte[]> { [9] = new byte[CopyOnWriteBlockDevice.ChunkSizeInBytes] }));
        target.Read(0, actual);
        Assert.Equal(expected, actual);
    }

    [Fact]
    public void Replacing_the_changes_respects_the_memory_budget()
    {
        using var cow = new CopyOnWriteBlockDevice(new MemoryBlockDevice(16 * CopyOnWriteBlockDevice.ChunkSizeInBytes), memoryBudgetInBytes: CopyOnWriteBlockDevice.ChunkSizeInBytes);
        var two = new Dictionary<long, byte[]> { [0] = new byte[CopyOnWriteBlockDevice.ChunkSizeInBytes], [1] = new byte[CopyOnWriteBlockDevice.ChunkSizeInBytes] };
        ArgumentException e = Assert.Throws<ArgumentException>(() => cow.ReplaceChanges(two));
        Assert.Contains("budget", e.Message, StringComparison.Ordinal);
        Assert.Equal(0, cow.ChangedChunkCount);
    }

    private static CopyOnWriteBlockDevice Open(IBlockDevice baseDevice, TempDirectory dir, bool fileOverlay) =>
        fileOverlay ? CopyOnWriteBlockDevice.CreateWithFile(baseDevice, dir.File("overlay-" + Guid.NewGuid().ToString("N"))) : new CopyOnWriteBlockDevice(baseDevice);
}
