using System.Buffers.Binary;
using System.IO.Hashing;

namespace Virt.Machine;

/// <summary>
/// The framing of the snapshot format (docs/snapshots.md): the header, then sections of identifier, payload length,
/// payload and a CRC-32 over the three. Reading checks every bound and checksum before a payload is handed out.
/// </summary>
internal static class SnapshotStream
{
    /// <summary>The format version this build writes and reads.</summary>
    public const ushort FormatVersion = 2;

    /// <summary>The oldest format version this build reads: version 1 had no disk sections (a machine without drives reads the same).</summary>
    public const ushort OldestReadableVersion = 1;

    /// <summary>The largest payload of one section (a VGA record with its 256 KiB of video memory is about 350 KiB of JSON).</summary>
    public const int MaxSectionPayloadInBytes = 16 << 20;

    private const int HeaderSizeInBytes = 12;
    private const int SectionPrefixSizeInBytes = 8;
    private const int CrcSizeInBytes = 4;

    /// <summary>"VIRTSNAP" in ASCII: the first eight bytes of every snapshot.</summary>
    private static ReadOnlySpan<byte> Magic => "VIRTSNAP"u8;

    public static void WriteHeader(Stream stream)
    {
        Span<byte> header = stackalloc byte[HeaderSizeInBytes];
        Magic.CopyTo(header);
        BinaryPrimitives.WriteUInt16LittleEndian(header[8..], FormatVersion);
        BinaryPrimitives.WriteUInt16LittleEndian(header[10..], 0);
        stream.Write(header);
    }

    public static void WriteSection(Stream stream, uint id, ReadOnlySpan<byte> payload)
    {
        Span<byte> prefix = stackalloc byte[SectionPrefixSizeInBytes];
        BinaryPrimitives.WriteUInt32LittleEndian(prefix, id);
        BinaryPrimitives.WriteUInt32LittleEndian(prefix[4..], checked((uint)payload.Length));
        var crc = new Crc32();
        crc.Append(prefix);
        crc.Append(payload);
        Span<byte> checksum = stackalloc byte[CrcSizeInBytes];
        BinaryPrimitives.WriteUInt32LittleEndian(checksum, crc.GetCurrentHashAsUInt32());
        stream.Write(prefix);
        stream.Write(payload);
        stream.Write(checksum);
    }

    public static void ReadHeader(Stream stream)
    {
        Span<byte> header = stackalloc byte[HeaderSizeInBytes];
        ReadExactly(stream, header, "header");
        if (!header[..8].SequenceEqual(Magic))
        {
            throw new SnapshotFormatException("Snapshot header: the magic is not 'VIRTSNAP' (not a Virt snapshot).");
        }

        ushort version = BinaryPrimitives.ReadUInt16LittleEndian(header[8..]);
        if (version is < OldestReadableVersion or > FormatVersion)
        {
            throw new SnapshotFormatException($"Snapshot header: format version {version} is not supported (expected {OldestReadableVersion} to {FormatVersion}).");
        }

        ushort flags = BinaryPrimitives.ReadUInt16LittleEndian(header[10..]);
        if (flags != 0)
        {
            throw new SnapshotFormatException($"Snapshot header: flags {flags:X4} are not defined in format version {FormatVersion}.");
        }
    }

    /// <summary>Reads one section and checks its checksum; <paramref name="ordinal"/> numbers it for messages.</summary>
    public static (uint Id, byte[] Payload) ReadSection(Stream stream, int ordinal)
    {
        Span<byte> prefix = stackalloc byte[SectionPrefixSizeInBytes];
        ReadExactly(stream, prefix, $"section #{ordinal}");
        uint id = BinaryPrimitives.ReadUInt32LittleEndian(prefix);
        uint length = BinaryPrimitives.ReadUInt32LittleEndian(prefix[4..]);
        string where = $"section #{ordinal} ({SnapshotSectionId.Describe(id)})";
        if (length > MaxSectionPayloadInBytes)
        {
            throw new SnapshotFormatException($"Snapshot {where}: length {length} exceeds the bound of {MaxSectionPayloadInBytes} bytes.");
        }

        if (stream.CanSeek && length > stream.Length - stream.Position)
        {
            throw new SnapshotFormatException($"Snapshot {where}: length {length} runs past the end of the stream ({stream.Length - stream.Position} bytes left).");
        }

        byte[] payload = new byte[length];
        ReadExactly(stream, payload, where);
        Span<byte> checksum = stackalloc byte[CrcSizeInBytes];
        ReadExactly(stream, checksum, $"{where} checksum");
        var crc = new Crc32();
        crc.Append(prefix);
        crc.Append(payload);
        uint expected = BinaryPrimitives.ReadUInt32LittleEndian(checksum);
        uint actual = crc.GetCurrentHashAsUInt32();
        if (expected != actual)
        {
            throw new SnapshotFormatException($"Snapshot {where}: CRC-32 {actual:X8} does not match the stored {expected:X8} (corrupt).");
        }

        return (id, payload);
    }

    private static void ReadExactly(Stream stream, Span<byte> buffer, string where)
    {
        try
        {
            stream.ReadExactly(buffer);
        }
        catch (EndOfStreamException e)
        {
            throw new SnapshotFormatException($"Snapshot {where}: the stream ends early (truncated).", e);
        }
    }
}
