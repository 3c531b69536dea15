using FsCheck.Xunit;
using Virt.Devices;

namespace Virt.Machine.Tests.Snapshots;

/// <summary>A damaged snapshot is refused with <see cref="SnapshotFormatException"/> and changes nothing.</summary>
public sealed class SnapshotCorruptionProperties
{
    private static readonly Lazy<byte[]> s_snapshot = new(() =>
    {
        using Machine machine = SnapshotGuest.Builder(new BufferCharacterSink()).Build();
        machine.Run(maxInstructions: 150_000);
        return SnapshotGuest.Snapshot(machine);
    });

    private static readonly Lazy<byte[]> s_diskSnapshot = new(() =>
    {
        using Machine machine = DiskSnapshotGuest.Builder(DiskSnapshotGuest.BaseDisk()).Build();
        machine.Run(maxInstructions: 40_000);
        var stream = new MemoryStream();
        machine.SaveSnapshot(stream);
        return stream.ToArray();
    });

    // For any truncation point, and any one to four bytes changed anywhere (header, lengths, payloads, checksums), the
    // restore throws SnapshotFormatException and nothing else, and the target machine's CPU state and RAM are as before.
    // The target ran further than the snapshot, so a partial restore would show.
    [Property(MaxTest = 120)]
    public bool CorruptSnapshotIsRefusedAndChangesNothing(int seed)
    {
        var random = new Random(seed);
        byte[] bytes = (byte[])s_snapshot.Value.Clone();
        if (random.Next(3) == 0)
        {
            bytes = bytes[..random.Next(bytes.Length)];
        }
        else
        {
            int flips = random.Next(1, 5);
            for (int i = 0; i < flips; i++)
            {
                bytes[random.Next(bytes.Length)] ^= (byte)random.Next(1, 256);
            }

            if (bytes.AsSpan().SequenceEqual(s_snapshot.Value))
            {
                bytes[0] ^= 1;  // two flips of the same byte cancelled out
            }
        }

        using Machine machine = SnapshotGuest.Builder(new BufferCharacterSink()).Build();
        machine.Run(maxInstructions: 250_000);
        string cpu = SnapshotGuest.CpuText(machine);
        string ram = SnapshotGuest.RamHash(machine);
        long now = machine.Clock.NowNanoseconds;
        try
        {
            machine.RestoreSnapshot(new MemoryStream(bytes));
            return false;
        }
        catch (SnapshotFormatException)
        {
        }

        return cpu == SnapshotGuest.CpuText(machine) && ram == SnapshotGuest.RamHash(machine) && now == machine.Clock.NowNanoseconds;
    }

    // The same for a machine with a disk on a copy-on-write overlay: damage anywhere is refused, and the overlay reads as
    // before. Half the cases damage only the 'DISK' and 'DSKC' sections at the end (from the first 'DISK' identifier on).
    [Property(MaxTest = 60)]
    public bool CorruptDiskSnapshotIsRefusedAndChangesNothing(int seed)
    {
        var random = new Random(seed);
        byte[] original = s_diskSnapshot.Value;
        byte[] bytes = (byte[])original.Clone();
        int from = random.Next(2) == 0 ? original.AsSpan().IndexOf("DISK"u8) : 0;
        if (random.Next(3) == 0)
        {
            bytes = bytes[..random.Next(from, bytes.Length)];
        }
        else
        {
            int flips = random.Next(1, 5);
            for (int i = 0; i < flips; i++)
            {
                bytes[random.Next(from, bytes.Length)] ^= (byte)random.Next(1, 256);
            }

            if (bytes.AsSpan().SequenceEqual(original))
            {
                bytes[^1] ^= 1;  // two flips of the same byte cancelled out
            }
        }

        using Machine machine = DiskSnapshotGuest.Builder(DiskSnapshotGuest.BaseDisk()).Build();
        machine.Run(maxInstructions: 80_000);
        string cpu = SnapshotGuest.CpuText(machine);
        string ram = SnapshotGuest.RamHash(machine);
        string disk = DiskSnapshotGuest.DiskHash(machine);
        try
        {
            machine.RestoreSnapshot(new MemoryStream(bytes));
            return false;
        }
        catch (SnapshotFormatException)
        {
        }

        return cpu == SnapshotGuest.CpuText(machine) && ram == SnapshotGuest.RamHash(machine) && disk == DiskSnapshotGuest.DiskHash(machine);
    }
}
