using System.Buffers.Binary;
using System.IO.Hashing;
using System.Text;

namespace Virt.Machine.Tests.Snapshots;

/// <summary>
/// Splits a snapshot into its sections and joins them again with fresh CRCs (docs/snapshots.md), so a test can craft a
/// snapshot whose framing is valid but whose content is not.
/// </summary>
internal static class SnapshotSections
{
    private const int HeaderSizeInBytes = 12;

    public static (byte[] Header, List<(string Id, byte[] Payload)> Sections) Split(byte[] snapshot)
    {
        var sections = new List<(string, byte[])>();
        int at = HeaderSizeInBytes;
        while (at < snapshot.Length)
        {
            string id = Encoding.ASCII.GetString(snapshot, at, 4);
            int length = (int)BinaryPrimitives.ReadUInt32LittleEndian(snapshot.AsSpan(at + 4));
            sections.Add((id, snapshot.AsSpan(at + 8, length).ToArray()));
            at += 8 + length + 4;
        }

        return (snapshot[..HeaderSizeInBytes], sections);
    }

    public static byte[] Join(byte[] header, IEnumerable<(string Id, byte[] Payload)> sections)
    {
        var stream = new MemoryStream();
        stream.Write(header);
        foreach ((string id, byte[] payload) in sections)
        {
            byte[] prefix = new byte[8];
            Encoding.ASCII.GetBytes(id, prefix);
            BinaryPrimitives.WriteUInt32LittleEndian(prefix.AsSpan(4), (uint)payload.Length);
            stream.Write(prefix);
            stream.Write(payload);
            byte[] crc = new byte[4];
            BinaryPrimitives.WriteUInt32LittleEndian(crc, Crc32.HashToUInt32([.. prefix, .. payload]));
            stream.Write(crc);
        }

        return stream.ToArray();
    }

    /// <summary>The snapshot with the first section <paramref name="id"/> replaced by what <paramref name="edit"/> returns.</summary>
    public static byte[] Edit(byte[] snapshot, string id, Func<byte[], byte[]> edit)
    {
        (byte[] header, List<(string Id, byte[] Payload)> sections) = Split(snapshot);
        int index = sections.FindIndex(s => s.Id == id);
        sections[index] = (id, edit(sections[index].Payload));
        return Join(header, sections);
    }
}
