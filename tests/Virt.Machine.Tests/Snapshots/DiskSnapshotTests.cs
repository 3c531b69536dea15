using Virt.Devices;
using Xunit;

namespace Virt.Machine.Tests.Snapshots;

/// <summary>Snapshots of machines with drives: overlay contents saved and restored, base identities and drive layouts checked, writable images only by permission.</summary>
public sealed class DiskSnapshotTests
{
    /// <summary>About a third of the guest's rounds.</summary>
    private const int SnapshotAtInstructions = 40_000;

    private const int RunToEnd = 5_000_000;

    private static byte[] Save(Machine machine, bool allowDisksByReference = false)
    {
        var stream = new MemoryStream();
        machine.SaveSnapshot(stream, allowDisksByReference: allowDisksByReference);
        return stream.ToArray();
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void ARestoredMachineSeesTheSnapshotTimeDiskAndContinuesExactlyAsTheOriginal(bool scratchFiles)
    {
        DirectoryInfo scratch = Directory.CreateTempSubdirectory("virt-disk-snapshot-test-");
        try
        {
            RestoreAndContinue(scratchFiles ? scratch.FullName : null);
        }
        finally
        {
            scratch.Delete(recursive: true);
        }
    }

    private static void RestoreAndContinue(string? scratchDirectory)
    {
        using var firstBase = DiskSnapshotGuest.BaseDisk();
        using Machine first = DiskSnapshotGuest.Builder(firstBase, scratchDirectory: scratchDirectory).Build();
        Assert.Equal(MachineStopKind.BudgetExhausted, first.Run(maxInstructions: SnapshotAtInstructions).Kind);
        var overlay = Assert.IsType<CopyOnWriteBlockDevice>(DiskSnapshotGuest.Disk(first));
        Assert.Equal(scratchDirectory is not null, overlay.IsFileBacked);
        Assert.True(overlay.ChangedChunkCount > 1, "the guest has written sectors before the snapshot");
        string diskAtSnapshot = DiskSnapshotGuest.DiskHash(first);
        byte[] snapshot = Save(first);

        // The first machine goes on writing (the rest of its rounds) to its end.
        MachineStopReason firstStop = first.Run(maxInstructions: RunToEnd);
        Assert.Equal(MachineStopKind.DebugExit, firstStop.Kind);
        Assert.NotEqual(diskAtSnapshot, DiskSnapshotGuest.DiskHash(first));

        // A second machine, built the same way over an identical base, had run and written on its own first.
        using var secondBase = DiskSnapshotGuest.BaseDisk();
        using Machine second = DiskSnapshotGuest.Builder(secondBase, scratchDirectory: scratchDirectory).Build();
        second.Run(maxInstructions: SnapshotAtInstructions * 2);
        second.RestoreSnapshot(new MemoryStream(snapshot));
        Assert.Equal(diskAtSnapshot, DiskSnapshotGuest.DiskHash(second));

        MachineStopReason secondStop = second.Run(maxInstructions: RunToEnd);
        Assert.Equal(firstStop.Kind, secondStop.Kind);
        Assert.Equal(firstStop.ExitCode, secondStop.ExitCode);
        Assert.Equal(DiskSnapshotGuest.DiskHash(first), DiskSnapshotGuest.DiskHash(second));
        Assert.Equal(SnapshotGuest.RamHash(first), SnapshotGuest.RamHash(second));
        Assert.Equal(SnapshotGuest.CpuText(first), SnapshotGuest.CpuText(second));
        Assert.Equal(first.Clock.NowNanoseconds, second.Clock.NowNanoseconds);
        Assert.Equal(Save(first), Save(second));

        // The bases were never written.
        Assert.Equal(DiskSnapshotGuest.Contents(DiskSnapshotGuest.BaseDisk()), DiskSnapshotGuest.Contents(firstBase));
        Assert.Equal(DiskSnapshotGuest.Contents(DiskSnapshotGuest.BaseDisk()), DiskSnapshotGuest.Contents(secondBase));
    }

    [Fact]
    public void AnotherBaseImageIsRefusedNamingTheDriveAndFieldAndChangesNothing()
    {
        byte[] snapshot;
        using (Machine first = DiskSnapshotGuest.Builder(DiskSnapshotGuest.BaseDisk()).Build())
        {
            first.Run(maxInstructions: SnapshotAtInstructions);
            snapshot = Save(first);
        }

        // Same name and size, one byte different in the first MiB.
        MemoryBlockDevice changed = DiskSnapshotGuest.BaseDisk();
        changed.Write(0, Enumerable.Repeat((byte)0xEE, 512).ToArray());
        AssertRefused(DiskSnapshotGuest.Builder(changed), snapshot, "'ide0'", "fingerprint");

        // Another size, another name.
        AssertRefused(DiskSnapshotGuest.Builder(DiskSnapshotGuest.BaseDisk(DiskSnapshotGuest.DiskSectors * 2)), snapshot, "'ide0'", "capacity");
        AssertRefused(DiskSnapshotGuest.Builder(new MemoryBlockDevice(DiskSnapshotGuest.Contents(DiskSnapshotGuest.BaseDisk()), name: "other.img")), snapshot, "'ide0'", "name");

        // No drive, a CD-ROM in its place, a second drive, the image without an overlay.
        AssertRefused(DiskSnapshotGuest.Builder(DiskSnapshotGuest.BaseDisk()).WithIdeDrive(0, new MemoryBlockDevice(2048 * 4, sectorSize: 2048), IdeMediaKind.Cdrom), snapshot, "'ide0'", "media kind");
        AssertRefused(DiskSnapshotGuest.Builder(DiskSnapshotGuest.BaseDisk()).WithIdeDrive(1, new MemoryBlockDevice(512 * 8, readOnly: true)), snapshot, "'ide1'", "has drive");
        AssertRefused(DiskSnapshotGuest.Builder(DiskSnapshotGuest.BaseDisk(), overlay: false), snapshot, "'ide0'", "mode");
        using Machine otherPosition = new MachineBuilder().WithBoard(MachineBoard.IsaPc).WithMemorySize(4UL << 20).WithDebugExit().WithIdeDrive(1, DiskSnapshotGuest.BaseDisk()).WithDiskSnapshot().Build();
        var e = Assert.Throws<SnapshotMismatchException>(() => otherPosition.RestoreSnapshot(new MemoryStream(snapshot)));
        Assert.Contains("drive 'ide0' (disk)", e.Message, StringComparison.Ordinal);
        Assert.Contains("ide1 (disk)", e.Message, StringComparison.Ordinal);

        // Without any drive the IDE controller itself is missing, which the configuration check names first.
        using Machine noDrive = new MachineBuilder().WithBoard(MachineBoard.IsaPc).WithMemorySize(4UL << 20).WithDebugExit().Build();
        e = Assert.Throws<SnapshotMismatchException>(() => noDrive.RestoreSnapshot(new MemoryStream(snapshot)));
        Assert.Contains("device 'ISA IDE'", e.Message, StringComparison.Ordinal);
    }

    private static void AssertRefused(MachineBuilder builder, byte[] snapshot, string drive, string field)
    {
        using Machine machine = builder.Build();
        machine.Run(maxInstructions: SnapshotAtInstructions * 2);
        string cpu = SnapshotGuest.CpuText(machine);
        string ram = SnapshotGuest.RamHash(machine);
        string disk = DiskSnapshotGuest.DiskHash(machine);
        var e = Assert.Throws<SnapshotMismatchException>(() => machine.RestoreSnapshot(new MemoryStream(snapshot)));
        Assert.Contains(drive, e.Message, StringComparison.Ordinal);
        Assert.Contains(field, e.Message, StringComparison.Ordinal);
        Assert.Equal(cpu, SnapshotGuest.CpuText(machine));
        Assert.Equal(ram, SnapshotGuest.RamHash(machine));
        Assert.Equal(disk, DiskSnapshotGuest.DiskHash(machine));
    }

    [Fact]
    public void AWritableImageWithoutAnOverlayIsSavedOnlyByPermissionAndByReference()
    {
        using MemoryBlockDevice image = DiskSnapshotGuest.BaseDisk();
        using Machine first = DiskSnapshotGuest.Builder(image, overlay: false).Build();
        first.Run(maxInstructions: SnapshotAtInstructions);
        var e = Assert.Throws<InvalidOperationException>(() => Save(first));
        Assert.Contains("ide0 ('base.img')", e.Message, StringComparison.Ordinal);
        Assert.Contains("allowDisksByReference", e.Message, StringComparison.Ordinal);

        // With permission the snapshot names the image and holds none of it; a restore onto the same image continues
        // with whatever the image holds now (here: what the guest wrote after the snapshot as well).
        byte[] snapshot = Save(first, allowDisksByReference: true);
        first.Run(maxInstructions: SnapshotAtInstructions);
        byte[] imageNow = DiskSnapshotGuest.Contents(image);
        using Machine second = DiskSnapshotGuest.Builder(image, overlay: false).Build();
        second.RestoreSnapshot(new MemoryStream(snapshot));
        Assert.Equal(imageNow, DiskSnapshotGuest.Contents(image));

        // Its contents are not compared (the guest wrote it after the snapshot too), but its name and capacity are.
        using Machine zeroed = DiskSnapshotGuest.Builder(new MemoryBlockDevice(image.CapacityInBytes, name: "base.img"), overlay: false).Build();
        zeroed.RestoreSnapshot(new MemoryStream(snapshot));
        AssertRefused(DiskSnapshotGuest.Builder(new MemoryBlockDevice(image.CapacityInBytes * 2, name: "base.img"), overlay: false), snapshot, "'ide0'", "capacity");
    }

    [Fact]
    public void ReadOnlyImagesAndCdsNeedNoOverlayAndAreCheckedByFingerprint()
    {
        MachineBuilder Builder(IBlockDevice cd) => DiskSnapshotGuest.Builder(DiskSnapshotGuest.BaseDisk())
            .WithIdeDrive(1, DiskSnapshotGuest.BaseDisk(8, readOnly: true))
            .WithIdeDrive(2, cd, IdeMediaKind.Cdrom)
            .WithEmptyIdeCdrom(3);
        byte[] cdBytes = Enumerable.Range(0, 2048 * 4).Select(i => (byte)(i * 7)).ToArray();
        byte[] snapshot;
        using (Machine first = Builder(new MemoryBlockDevice(cdBytes, sectorSize: 2048, readOnly: true, name: "disc.iso")).Build())
        {
            first.Run(maxInstructions: SnapshotAtInstructions);
            snapshot = Save(first);
        }

        using (Machine same = Builder(new MemoryBlockDevice((byte[])cdBytes.Clone(), sectorSize: 2048, readOnly: true, name: "disc.iso")).Build())
        {
            same.RestoreSnapshot(new MemoryStream(snapshot));
        }

        byte[] otherDisc = (byte[])cdBytes.Clone();
        otherDisc[^1] ^= 1;
        AssertRefused(Builder(new MemoryBlockDevice(otherDisc, sectorSize: 2048, readOnly: true, name: "disc.iso")), snapshot, "'ide2'", "fingerprint");
    }
}
