using System.Buffers.Binary;
using System.Text;
using Virt.Devices;
using Xunit;

namespace Virt.Machine.Tests.Snapshots;

/// <summary>Snapshots with valid checksums but content no machine wrote: refused by the field checks, naming the field.</summary>
public sealed class CraftedSnapshotTests
{
    private static readonly Lazy<byte[]> s_snapshot = new(() =>
    {
        using Machine machine = SnapshotGuest.Builder(new BufferCharacterSink()).Build();
        machine.Run(maxInstructions: 100_000);
        return SnapshotGuest.Snapshot(machine);
    });

    [Fact]
    public void UnchangedSectionsJoinedAgainRestore()
    {
        (byte[] header, List<(string Id, byte[] Payload)> sections) = SnapshotSections.Split(s_snapshot.Value);
        Assert.Equal(s_snapshot.Value, SnapshotSections.Join(header, sections));   // the test helper is faithful
        Assert.Equal(["CONF", "MACH", "CPU ", "CLCK"], sections.Take(4).Select(s => s.Id));
        Assert.Equal("END ", sections[^1].Id);
    }

    [Fact]
    public void CpuRecordWithoutRegistersIsRefused()
    {
        byte[] crafted = SnapshotSections.Edit(s_snapshot.Value, "CPU ", json =>
            Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(json).Replace("\"GeneralRegisters\":[", "\"GeneralRegisters\":null,\"X\":[", StringComparison.Ordinal)));
        AssertRefused(crafted, "'CPU'");
    }

    [Fact]
    public void ChunkBeyondTheRegionIsRefused()
    {
        byte[] crafted = SnapshotSections.Edit(s_snapshot.Value, "RAMC", payload =>
        {
            byte[] copy = (byte[])payload.Clone();
            BinaryPrimitives.WriteInt64LittleEndian(copy.AsSpan(4), long.MaxValue / 2);
            return copy;
        });
        AssertRefused(crafted, "chunk");
    }

    [Fact]
    public void PageBitmapPromisingMoreThanTheDataIsRefused()
    {
        byte[] crafted = SnapshotSections.Edit(s_snapshot.Value, "RAMC", payload =>
        {
            byte[] copy = (byte[])payload.Clone();
            BinaryPrimitives.WriteUInt16LittleEndian(copy.AsSpan(12), 0xFFFF);
            return copy;
        });
        AssertRefused(crafted, "'RAMC'");
    }

    [Fact]
    public void DeviceRecordOfAnotherTypeIsRefused()
    {
        (byte[] header, List<(string Id, byte[] Payload)> sections) = SnapshotSections.Split(s_snapshot.Value);
        int[] devices = [.. sections.Select((s, i) => (s.Id, i)).Where(s => s.Id == "DEV ").Select(s => s.i)];
        Assert.True(devices.Length >= 2);

        // The first device's section with the second device's name: the record type does not fit.
        string secondName = new BinaryReader(new MemoryStream(sections[devices[1]].Payload)).ReadString();
        var reader = new BinaryReader(new MemoryStream(sections[devices[0]].Payload));
        _ = reader.ReadString();
        var payload = new MemoryStream();
        using (var writer = new BinaryWriter(payload, Encoding.UTF8, leaveOpen: true))
        {
            writer.Write(secondName);
            writer.Write(reader.ReadBytes(sections[devices[0]].Payload.Length));
        }

        sections[devices[0]] = ("DEV ", payload.ToArray());
        sections.RemoveAt(devices[1]);
        AssertRefused(SnapshotSections.Join(header, sections), $"'{secondName}'");
    }

    [Fact]
    public void MissingEndAndUnknownSectionsAreRefused()
    {
        (byte[] header, List<(string Id, byte[] Payload)> sections) = SnapshotSections.Split(s_snapshot.Value);
        AssertRefused(SnapshotSections.Join(header, sections.Take(sections.Count - 1)), "truncated");
        AssertRefused(SnapshotSections.Join(header, [.. sections.Take(2), ("XYZW", []), .. sections.Skip(2)]), "'XYZW'");
        AssertRefused(SnapshotSections.Join(header, [.. sections.Take(2), sections[1], .. sections.Skip(2)]), "repeated");
    }

    private static void AssertRefused(byte[] crafted, string named)
    {
        using Machine machine = SnapshotGuest.Builder(new BufferCharacterSink()).Build();
        machine.Run(maxInstructions: 150_000);
        string cpu = SnapshotGuest.CpuText(machine);
        string ram = SnapshotGuest.RamHash(machine);
        var e = Assert.Throws<SnapshotFormatException>(() => machine.RestoreSnapshot(new MemoryStream(crafted)));
        Assert.Contains(named, e.Message, StringComparison.Ordinal);
        Assert.Equal(cpu, SnapshotGuest.CpuText(machine));
        Assert.Equal(ram, SnapshotGuest.RamHash(machine));
    }
}
