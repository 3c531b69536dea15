using System.Security.Cryptography;
using Virt.Devices;
using Virt.Machine.Boot;
using Virt.Memory;
using Xunit;

namespace Virt.Machine.Tests.Snapshots;

/// <summary>Disks in <see cref="Machine.Checkpoint"/>, <see cref="Machine.Rewind"/> and <see cref="Machine.Fork"/>: overlays go back and fork with the machine, the base image is never written.</summary>
public sealed class DiskCheckpointTests
{
    private const int CheckpointAtInstructions = 40_000;
    private const int RunToEnd = 5_000_000;
    private const int Sector = 512;

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void RewindTakesBackWhatTheGuestWroteToTheDiskAndTheRunRepeatsExactly(bool scratchFiles)
    {
        DirectoryInfo scratch = Directory.CreateTempSubdirectory("virt-disk-checkpoint-test-");
        try
        {
            string basePath = WriteBaseFile(scratch);
            string baseHash = FileHash(basePath);
            using (var baseDisk = new RawImageBlockDevice(basePath, readOnly: false))
            using (Machine machine = DiskSnapshotGuest.Builder(baseDisk, scratchDirectory: scratchFiles ? scratch.FullName : null).Build())
            {
                machine.Run(maxInstructions: CheckpointAtInstructions);
                string diskAtCheckpoint = DiskSnapshotGuest.DiskHash(machine);
                MachineCheckpoint checkpoint = machine.Checkpoint();

                // The guest writes the rest of its rounds; the host writes a sector too.
                MachineStopReason firstEnd = machine.Run(maxInstructions: RunToEnd);
                Assert.Equal(MachineStopKind.DebugExit, firstEnd.Kind);
                DiskSnapshotGuest.Disk(machine).Write(200 * Sector, Enumerable.Repeat((byte)0xA5, Sector).ToArray());
                string diskAtEnd = DiskSnapshotGuest.DiskHash(machine);
                Assert.NotEqual(diskAtCheckpoint, diskAtEnd);

                for (int round = 0; round < 2; round++)
                {
                    machine.Rewind(checkpoint);
                    Assert.Equal(diskAtCheckpoint, DiskSnapshotGuest.DiskHash(machine));

                    // From the checkpoint the guest reads what it read the first time, so it ends the same way.
                    MachineStopReason again = machine.Run(maxInstructions: RunToEnd);
                    Assert.Equal(firstEnd.Kind, again.Kind);
                    Assert.Equal(firstEnd.ExitCode, again.ExitCode);
                }
            }

            Assert.Equal(baseHash, FileHash(basePath));
        }
        finally
        {
            scratch.Delete(recursive: true);
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task AForkHasItsOwnDiskOverTheParentsAndBothWriteIndependently(bool scratchFiles)
    {
        DirectoryInfo scratch = Directory.CreateTempSubdirectory("virt-disk-fork-test-");
        try
        {
            string basePath = WriteBaseFile(scratch);
            string baseHash = FileHash(basePath);
            using (var baseDisk = new RawImageBlockDevice(basePath, readOnly: false))
            using (Machine parent = DiskSnapshotGuest.Builder(baseDisk, scratchDirectory: scratchFiles ? scratch.FullName : null).Build())
            {
                parent.Run(maxInstructions: CheckpointAtInstructions);
                string diskAtFork = DiskSnapshotGuest.DiskHash(parent);
                using Machine child = parent.Fork();
                IBlockDevice parentDisk = DiskSnapshotGuest.Disk(parent);
                IBlockDevice childDisk = DiskSnapshotGuest.Disk(child);
                Assert.NotSame(parentDisk, childDisk);
                Assert.Equal(diskAtFork, DiskSnapshotGuest.DiskHash(child));

                // Each side writes the same sector with its own bytes and reads its own.
                parentDisk.Write(250 * Sector, Enumerable.Repeat((byte)0x11, Sector).ToArray());
                childDisk.Write(250 * Sector, Enumerable.Repeat((byte)0x22, Sector).ToArray());
                Assert.Equal(0x11, ReadSector(parentDisk, 250)[0]);
                Assert.Equal(0x22, ReadSector(childDisk, 250)[0]);

                // Both guests run to their end on their own threads; deterministic, so their disks end alike but for sector 250.
                Task<MachineStopReason> childRun = Task.Run(() => child.Run(maxInstructions: RunToEnd));
                MachineStopReason parentEnd = parent.Run(maxInstructions: RunToEnd);
                MachineStopReason childEnd = await childRun;
                Assert.Equal(MachineStopKind.DebugExit, parentEnd.Kind);
                Assert.Equal(parentEnd.ExitCode, childEnd.ExitCode);
                Assert.Equal(0x11, ReadSector(parentDisk, 250)[0]);
                Assert.Equal(0x22, ReadSector(childDisk, 250)[0]);
                childDisk.Write(250 * Sector, Enumerable.Repeat((byte)0x11, Sector).ToArray());
                Assert.Equal(DiskSnapshotGuest.DiskHash(parent), DiskSnapshotGuest.DiskHash(child));
            }

            Assert.Equal(baseHash, FileHash(basePath));
        }
        finally
        {
            scratch.Delete(recursive: true);
        }
    }

    [Fact]
    public void AWritableDiskWithoutAnOverlayIsRefusedNamingTheDrive()
    {
        using var disk = DiskSnapshotGuest.BaseDisk();
        using Machine machine = DiskSnapshotGuest.Builder(disk, overlay: false).Build();
        machine.Run(maxInstructions: 1_000);
        InvalidOperationException checkpoint = Assert.Throws<InvalidOperationException>(() => machine.Checkpoint());
        Assert.Contains("ide0", checkpoint.Message, StringComparison.Ordinal);
        Assert.Contains("WithDiskSnapshot", checkpoint.Message, StringComparison.Ordinal);
        InvalidOperationException fork = Assert.Throws<InvalidOperationException>(() => machine.Fork());
        Assert.Contains("ide0", fork.Message, StringComparison.Ordinal);

        // Accepted when asked for; the disk is then left out of the checkpoint.
        MachineCheckpoint accepted = machine.Checkpoint(allowDisksByReference: true);
        machine.Rewind(accepted);
    }

    [Fact]
    public void FloppiesOnOverlaysAreCheckpointedAndForked()
    {
        const int floppyBytes = 1_474_560;
        using var floppy = new MemoryBlockDevice(floppyBytes);
        using Machine machine = new MachineBuilder()
            .WithMemorySize(4UL << 20)
            .WithFloppyDrive(0, floppy)
            .WithDiskSnapshot()
            .WithFlatBinary([0xEB, 0xFE], new PhysicalAddress(0x10000), BootEntryState.FlatProtectedMode(0x10000, "spin"))
            .Build();
        IBlockDevice disk = machine.FindDevice<Floppy82077>()!.GetMedium(0)!;
        Assert.IsType<CopyOnWriteBlockDevice>(disk);
        disk.Write(0, Enumerable.Repeat((byte)1, Sector).ToArray());
        MachineCheckpoint checkpoint = machine.Checkpoint();
        disk.Write(0, Enumerable.Repeat((byte)2, Sector).ToArray());

        using Machine child = machine.Fork();
        IBlockDevice childDisk = child.FindDevice<Floppy82077>()!.GetMedium(0)!;
        Assert.Equal(2, ReadSector(childDisk, 0)[0]);
        childDisk.Write(0, Enumerable.Repeat((byte)3, Sector).ToArray());

        machine.Rewind(checkpoint);
        Assert.Equal(1, ReadSector(disk, 0)[0]);
        Assert.Equal(3, ReadSector(childDisk, 0)[0]);
        Assert.All(ReadSector(floppy, 0), b => Assert.Equal(0, b));
    }

    private static string WriteBaseFile(DirectoryInfo directory)
    {
        string path = Path.Combine(directory.FullName, "base.img");
        File.WriteAllBytes(path, DiskSnapshotGuest.Contents(DiskSnapshotGuest.BaseDisk()));
        return path;
    }

    private static string FileHash(string path) => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(path)));

    private static byte[] ReadSector(IBlockDevice device, int sector)
    {
        byte[] bytes = new byte[Sector];
        device.Read(sector * Sector, bytes);
        return bytes;
    }
}
