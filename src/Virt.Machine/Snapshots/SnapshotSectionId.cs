namespace Virt.Machine;

/// <summary>The section identifiers of the snapshot format (four ASCII characters, stored little-endian); docs/snapshots.md.</summary>
internal static class SnapshotSectionId
{
    /// <summary>The configuration fingerprint: RAM regions, CPU model, devices.</summary>
    public const uint Configuration = 'C' | ('O' << 8) | ('N' << 16) | ((uint)'F' << 24);

    /// <summary>Machine-level state: the A20 gate.</summary>
    public const uint MachineFlags = 'M' | ('A' << 8) | ('C' << 16) | ((uint)'H' << 24);

    /// <summary>The CPU record (JSON).</summary>
    public const uint Cpu = 'C' | ('P' << 8) | ('U' << 16) | ((uint)' ' << 24);

    /// <summary>The virtual clock record (JSON).</summary>
    public const uint Clock = 'C' | ('L' << 8) | ('C' << 16) | ((uint)'K' << 24);

    /// <summary>One stateful device: name, record type, record (JSON).</summary>
    public const uint Device = 'D' | ('E' << 8) | ('V' << 16) | ((uint)' ' << 24);

    /// <summary>One RAM backing: region name, size, shadow mode, chunk count.</summary>
    public const uint RamRegion = 'R' | ('A' << 8) | ('M' << 16) | ((uint)'R' << 24);

    /// <summary>One allocated RAM chunk: region ordinal, chunk index, page bitmap, deflated non-zero pages.</summary>
    public const uint RamChunk = 'R' | ('A' << 8) | ('M' << 16) | ((uint)'C' << 24);

    /// <summary>One drive: identifier, media kind, mode, and the image's name, capacity, read-only flag and fingerprint.</summary>
    public const uint Disk = 'D' | ('I' << 8) | ('S' << 16) | ((uint)'K' << 24);

    /// <summary>Up to 16 copy-on-write overlay chunks of the current drive: drive ordinal, chunk group, bitmap, deflated chunks.</summary>
    public const uint DiskChunks = 'D' | ('S' << 8) | ('K' << 16) | ((uint)'C' << 24);

    /// <summary>The end of the snapshot (empty).</summary>
    public const uint End = 'E' | ('N' << 8) | ('D' << 16) | ((uint)' ' << 24);

    /// <summary>The four characters of an identifier, for messages.</summary>
    public static string Describe(uint id)
    {
        Span<char> chars = stackalloc char[4];
        for (int i = 0; i < 4; i++)
        {
            char c = (char)((id >> (8 * i)) & 0xFF);
            chars[i] = c is >= ' ' and <= '~' ? c : '?';
        }

        return $"'{chars.ToString().TrimEnd()}'";
    }
}
