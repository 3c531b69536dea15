namespace Virt.Devices;

/// <summary>
/// The VBE video memory: a power-of-two size in 64 KiB chunks allocated on first write, so a 16 MiB framebuffer costs
/// only what the guest draws. Unwritten chunks read as zero.
/// </summary>
internal sealed class VgaLinearMemory
{
    /// <summary>The chunk size (64 KiB, one VBE bank).</summary>
    public const int ChunkSizeInBytes = 0x10000;

    private const int ChunkShift = 16;

    private readonly byte[]?[] _chunks;

    public VgaLinearMemory(int sizeInBytes)
    {
        SizeInBytes = sizeInBytes;
        _chunks = new byte[]?[sizeInBytes / ChunkSizeInBytes];
    }

    public int SizeInBytes { get; }

    public byte Read(int offset) => _chunks[offset >> ChunkShift] is { } chunk ? chunk[offset & (ChunkSizeInBytes - 1)] : (byte)0;

    public void Write(int offset, byte value)
    {
        byte[]? chunk = _chunks[offset >> ChunkShift];
        if (chunk is null)
        {
            if (value == 0)
            {
                return;
            }

            chunk = _chunks[offset >> ChunkShift] = new byte[ChunkSizeInBytes];
        }

        chunk[offset & (ChunkSizeInBytes - 1)] = value;
    }

    /// <summary>Copies <paramref name="destination"/>.Length bytes from <paramref name="offset"/> (wrapping at the end).</summary>
    public void Read(int offset, Span<byte> destination)
    {
        for (int i = 0; i < destination.Length;)
        {
            int at = (offset + i) & (SizeInBytes - 1);
            int inChunk = Math.Min(destination.Length - i, ChunkSizeInBytes - (at & (ChunkSizeInBytes - 1)));
            Span<byte> target = destination.Slice(i, inChunk);
            if (_chunks[at >> ChunkShift] is { } chunk)
            {
                chunk.AsSpan(at & (ChunkSizeInBytes - 1), inChunk).CopyTo(target);
            }
            else
            {
                target.Clear();
            }

            i += inChunk;
        }
    }

    /// <summary>Zeroes everything (frees the chunks).</summary>
    public void Clear() => Array.Clear(_chunks);

    /// <summary>A copy of the chunks for a state record (null where never written).</summary>
    public byte[]?[] SaveChunks() => [.. _chunks.Select(c => (byte[]?)c?.Clone())];

    public bool CanRestore(byte[]?[]? chunks) => chunks is not null && chunks.Length == _chunks.Length && chunks.All(c => c is null || c.Length == ChunkSizeInBytes);

    public void RestoreChunks(byte[]?[] chunks)
    {
        for (int i = 0; i < _chunks.Length; i++)
        {
            _chunks[i] = (byte[]?)chunks[i]?.Clone();
        }
    }
}
