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
}
