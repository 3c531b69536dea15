using Virt.Memory;

namespace Virt.Machine;

/// <summary>In-memory checkpoints: <see cref="Checkpoint"/> and <see cref="Rewind"/>, priced by the pages the guest writes.</summary>
public sealed partial class Machine
{
    private const int PageSize = PhysicalMemoryMap.PageSizeInBytes;

    /// <summary>RAM as of the latest checkpoint, per region: chunk index to a copy of the chunk.</summary>
    private Dictionary<string, Dictionary<long, byte[]>>? _checkpointRam;
    private long _checkpointGeneration;

    /// <summary>
    /// Takes an in-memory checkpoint. The machine keeps a copy of its RAM as of now: the first checkpoint copies every
    /// allocated chunk; later ones copy only the pages written since the previous one, found with the map's dirty-page
    /// bits (<see cref="PhysicalMemoryMap.TakeDirtyPages"/>, which this takes and clears; a host that takes them too
    /// breaks the bookkeeping). Taking a checkpoint makes earlier ones unusable.
    /// </summary>
    /// <returns>The checkpoint, for <see cref="Rewind"/>.</returns>
    public MachineCheckpoint Checkpoint()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        MachineState state = SaveState();
        long copied = 0;
        if (_checkpointRam is null)
        {
            _checkpointRam = new Dictionary<string, Dictionary<long, byte[]>>(StringComparer.Ordinal);
            foreach (string region in Memory.RamRegionNames)
            {
                _ = Memory.TakeDirtyPages(region);
                var chunks = new Dictionary<long, byte[]>();
                foreach (long chunk in Memory.GetAllocatedRamChunks(region))
                {
                    chunks.Add(chunk, Memory.PeekRamChunk(region, chunk).ToArray());
                    copied += PhysicalMemoryMap.RamChunkSizeInBytes / PageSize;
                }

                _checkpointRam.Add(region, chunks);
            }
        }
        else
        {
            foreach ((string region, Dictionary<long, byte[]> chunks) in _checkpointRam)
            {
                foreach (long page in Memory.TakeDirtyPages(region).EnumerateDirtyPages())
                {
                    long chunkIndex = page / PagesPerChunk;
                    int offset = (int)(page % PagesPerChunk) * PageSize;
                    if (!chunks.TryGetValue(chunkIndex, out byte[]? copy))
                    {
                        copy = new byte[PhysicalMemoryMap.RamChunkSizeInBytes];
                        chunks.Add(chunkIndex, copy);
                    }

                    ReadOnlySpan<byte> chunk = Memory.PeekRamChunk(region, chunkIndex);
                    chunk.Slice(offset, PageSize).CopyTo(copy.AsSpan(offset));
                    copied++;
                }
            }
        }

        return new MachineCheckpoint(this, ++_checkpointGeneration, state, copied);
    }

    /// <summary>
    /// Puts the machine back to <paramref name="checkpoint"/>: the pages written since then get their bytes back from
    /// the machine's copy (so the cost grows with the pages the guest wrote, not with the RAM size), then the CPU, clock,
    /// A20 gate and devices are restored as by <see cref="RestoreState"/>.
    /// </summary>
    /// <param name="checkpoint">This machine's latest checkpoint.</param>
    /// <returns>The number of RAM pages put back.</returns>
    /// <exception cref="ArgumentException">When the checkpoint is another machine's or not the latest; nothing is changed then.</exception>
    public long Rewind(MachineCheckpoint checkpoint)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (checkpoint.Owner != this || checkpoint.Generation != _checkpointGeneration || _checkpointRam is null)
        {
            throw new ArgumentException(
                checkpoint.Owner != this ? "The checkpoint was taken on another machine." : $"Checkpoint {checkpoint.Generation} is not this machine's latest ({_checkpointGeneration}); only the latest can be rewound to.",
                nameof(checkpoint));
        }

        // The record was taken from this machine, so RestoreState accepts it; it goes first in case it refuses anyway.
        RestoreState(checkpoint.State);
        long restored = 0;
        foreach ((string region, Dictionary<long, byte[]> chunks) in _checkpointRam)
        {
            foreach (long page in Memory.TakeDirtyPages(region).EnumerateDirtyPages())
            {
                long chunkIndex = page / PagesPerChunk;
                ReadOnlySpan<byte> saved = chunks.TryGetValue(chunkIndex, out byte[]? copy)
                    ? copy.AsSpan((int)(page % PagesPerChunk) * PageSize, PageSize)
                    : [];
                Memory.RestoreRamPage(region, page, saved);
                restored++;
            }
        }

        return restored;
    }
}
