using FsCheck.Xunit;
using Xunit;

namespace Virt.Devices.Tests.Backends.Block;

/// <summary>Checkpoints, rewinds and forks of copy-on-write overlays, in memory and in scratch files.</summary>
public sealed class CopyOnWriteBlockDeviceCheckpointTests
{
    private const int Sector = 512;
    private const int Sectors = 64;

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Rewind_brings_back_the_checkpoint_contents_any_number_of_times(bool fileOverlay)
    {
        using var dir = new TempDirectory();
        string basePath = dir.RandomFile("base.img", Sectors * Sector, seed: 3);
        string baseHash = TempDirectory.Sha256(basePath);
        using CopyOnWriteBlockDevice cow = Open(new RawImageBlockDevice(basePath, readOnly: false), dir, fileOverlay);
        cow.Write(2 * Sector, TempDirectory.RandomBytes(3 * Sector, 10));
        Assert.False(cow.HasCheckpoint);
        cow.Checkpoint();
        byte[] atCheckpoint = Contents(cow);

        for (int round = 0; round < 3; round++)
        {
            // Overwrite a checkpointed chunk, write a new one partly, and discard everything once.
            cow.Write(3 * Sector, TempDirectory.RandomBytes(Sector, 20 + round));
            cow.Write(40 * Sector, TempDirectory.RandomBytes(Sector, 30 + round));
            if (round == 1)
            {
                cow.Discard();
            }

            Assert.NotEqual(atCheckpoint, Contents(cow));
            int restored = cow.RewindToCheckpoint();
            Assert.True(restored >= 2, $"round {round}: {restored} chunks put back");
            Assert.Equal(atCheckpoint, Contents(cow));
            Assert.Equal(0, cow.ChunksChangedSinceCheckpoint);
        }

        Assert.Equal(baseHash, TempDirectory.Sha256(basePath));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_checkpoint_costs_the_chunks_changed_since_not_the_overlay_size(bool fileOverlay)
    {
        using var dir = new TempDirectory();
        using CopyOnWriteBlockDevice cow = Open(new MemoryBlockDevice(Sectors * Sector), dir, fileOverlay);
        cow.Write(0, TempDirectory.RandomBytes(Sectors * Sector, 4));
        cow.Checkpoint();
        Assert.Equal(0, cow.ChunksChangedSinceCheckpoint);
        cow.Write(5 * Sector, new byte[Sector]);
        cow.Write(6 * Sector, new byte[Sector]); // the same 4 KiB chunk
        Assert.Equal(1, cow.ChunksChangedSinceCheckpoint);
        Assert.Equal(1, cow.RewindToCheckpoint());
    }

    [Fact]
    public void Replacing_the_changes_is_rewound_too()
    {
        using var cow = new CopyOnWriteBlockDevice(new MemoryBlockDevice(Sectors * Sector));
        cow.Write(0, TempDirectory.RandomBytes(Sector, 5));
        cow.Checkpoint();
        byte[] atCheckpoint = Contents(cow);
        cow.ReplaceChanges(new Dictionary<long, byte[]> { [3] = TempDirectory.RandomBytes(CopyOnWriteBlockDevice.ChunkSizeInBytes, 6) });
        Assert.NotEqual(atCheckpoint, Contents(cow));
        cow.RewindToCheckpoint();
        Assert.Equal(atCheckpoint, Contents(cow));
    }

    [Fact]
    public void Rewind_without_a_checkpoint_and_after_a_commit_is_refused()
    {
        using var cow = new CopyOnWriteBlockDevice(new MemoryBlockDevice(Sectors * Sector));
        Assert.Contains("no checkpoint", Assert.Throws<InvalidOperationException>(() => cow.RewindToCheckpoint()).Message, StringComparison.Ordinal);
        cow.Checkpoint();
        cow.Write(0, new byte[Sector]);
        cow.Commit();
        Assert.False(cow.HasCheckpoint);
        Assert.Throws<InvalidOperationException>(() => cow.RewindToCheckpoint());
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_fork_reads_as_its_parent_then_each_keeps_its_own_writes_and_the_base_is_never_written(bool fileOverlay)
    {
        using var dir = new TempDirectory();
        string basePath = dir.RandomFile("base.img", Sectors * Sector, seed: 7);
        string baseHash = TempDirectory.Sha256(basePath);
        using CopyOnWriteBlockDevice parent = Open(new RawImageBlockDevice(basePath, readOnly: false), dir, fileOverlay);
        parent.Write(8 * Sector, TempDirectory.RandomBytes(2 * Sector, 11));
        parent.Checkpoint();
        byte[] parentAtCheckpoint = Contents(parent);

        using CopyOnWriteBlockDevice child = parent.Fork();
        Assert.Equal(parentAtCheckpoint, Contents(child));
        Assert.True(parent.IsBaseShared && child.IsBaseShared);
        Assert.False(child.HasCheckpoint);

        // Both write the same sector (shared chunk) and one each elsewhere.
        byte[] parentData = TempDirectory.RandomBytes(Sector, 12);
        byte[] childData = TempDirectory.RandomBytes(Sector, 13);
        parent.Write(8 * Sector, parentData);
        child.Write(8 * Sector, childData);
        child.Write(30 * Sector, childData);
        Assert.Equal(parentData, Sectors8(parent));
        Assert.Equal(childData, Sectors8(child));
        Assert.Equal(parentAtCheckpoint.AsSpan(30 * Sector, Sector).ToArray(), ReadSector(parent, 30));

        // The parent's checkpoint survived the fork and does not touch the child.
        parent.RewindToCheckpoint();
        Assert.Equal(parentAtCheckpoint, Contents(parent));
        Assert.Equal(childData, Sectors8(child));

        Assert.Contains("shared", Assert.Throws<InvalidOperationException>(() => parent.Commit()).Message, StringComparison.Ordinal);
        child.Dispose();
        Assert.Equal(parentAtCheckpoint, Contents(parent));
        Assert.Equal(baseHash, TempDirectory.Sha256(basePath));

        static byte[] Sectors8(IBlockDevice device) => ReadSector(device, 8);
    }

    [Property(MaxTest = 40)]
    public bool Random_writes_checkpoints_rewinds_and_forks_match_byte_array_models(uint[] operations, bool fileOverlay)
    {
        using var dir = new TempDirectory();
        byte[] baseBytes = TempDirectory.RandomBytes(Sectors * Sector, operations.Length);
        var devices = new List<CopyOnWriteBlockDevice> { Open(new MemoryBlockDevice((byte[])baseBytes.Clone(), readOnly: true), dir, fileOverlay) };
        var models = new List<byte[]> { (byte[])baseBytes.Clone() };
        var checkpoints = new List<byte[]?> { null };
        try
        {
            foreach (uint op in operations)
            {
                int which = (int)(op % (uint)devices.Count);
                CopyOnWriteBlockDevice device = devices[which];
                switch ((op >> 8) % 8)
                {
                    case 0:
                        device.Checkpoint();
                        checkpoints[which] = (byte[])models[which].Clone();
                        break;
                    case 1 when checkpoints[which] is { } saved:
                        device.RewindToCheckpoint();
                        models[which] = (byte[])saved.Clone();
                        break;
                    case 2 when devices.Count < 4:
                        devices.Add(device.Fork());
                        models.Add((byte[])models[which].Clone());
                        checkpoints.Add(null);
                        break;
                    default:
                        int sector = (int)((op >> 12) % Sectors);
                        int count = (int)Math.Min(1 + ((op >> 20) % 12), Sectors - sector);
                        byte[] data = TempDirectory.RandomBytes(count * Sector, (int)op);
                        device.Write(sector * Sector, data);
                        data.CopyTo(models[which], sector * Sector);
                        break;
                }
            }

            return devices.Select(Contents).Zip(models).All(pair => pair.First.AsSpan().SequenceEqual(pair.Second));
        }
        finally
        {
            for (int i = devices.Count - 1; i >= 0; i--)
            {
                devices[i].Dispose();
            }
        }
    }

    private static byte[] ReadSector(IBlockDevice device, int sector)
    {
        byte[] bytes = new byte[Sector];
        device.Read(sector * Sector, bytes);
        return bytes;
    }

    private static byte[] Contents(IBlockDevice device)
    {
        byte[] bytes = new byte[device.CapacityInBytes];
        device.Read(0, bytes);
        return bytes;
    }

    private static CopyOnWriteBlockDevice Open(IBlockDevice baseDevice, TempDirectory dir, bool fileOverlay) =>
        fileOverlay ? CopyOnWriteBlockDevice.CreateWithFile(baseDevice, dir.File("overlay-" + Guid.NewGuid().ToString("N"))) : new CopyOnWriteBlockDevice(baseDevice);
}
