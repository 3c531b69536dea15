using Virt.Devices;
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
    /// Disks on copy-on-write overlays (<see cref="MachineBuilder.WithDiskSnapshot"/>) are checkpointed too, without
    /// copying anything (<see cref="CopyOnWriteBlockDevice.Checkpoint"/>): a rewind puts back the chunks written since.
    /// </summary>
    /// <param name="allowDisksByReference">
    /// Whether a writable drive that is not on an overlay is accepted: it is then left out (a rewind does not take back
    /// the guest's writes to it). By default such a machine is refused.
    /// </param>
    /// <returns>The checkpoint, for <see cref="Rewind"/>.</returns>
    /// <exception cref="InvalidOperationException">When a drive is writable and not on a copy-on-write overlay and <paramref name="allowDisksByReference"/> is false; the message names it.</exception>
    public MachineCheckpoint Checkpoint(bool allowDisksByReference = false)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        List<(string Drive, CopyOnWriteBlockDevice Overlay)> overlays = CheckpointableOverlays(allowDisksByReference, "checkpoint");
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

        foreach ((_, CopyOnWriteBlockDevice overlay) in overlays)
        {
            overlay.Checkpoint();
        }

        return new MachineCheckpoint(this, ++_checkpointGeneration, state, copied, overlays);
    }

    /// <summary>
    /// Puts the machine back to <paramref name="checkpoint"/>: the pages written since then get their bytes back from
    /// the machine's copy (so the cost grows with the pages the guest wrote, not with the RAM size), then the CPU, clock,
    /// A20 gate and devices are restored as by <see cref="RestoreState"/>, and every disk overlay checkpointed with it
    /// gets back the chunks written since (<see cref="CopyOnWriteBlockDevice.RewindToCheckpoint"/>).
    /// </summary>
    /// <param name="checkpoint">This machine's latest checkpoint.</param>
    /// <returns>The number of RAM pages put back.</returns>
    /// <exception cref="ArgumentException">When the checkpoint is another machine's or not the latest; nothing is changed then.</exception>
    /// <exception cref="InvalidOperationException">When a drive's overlay was replaced or committed since the checkpoint; nothing is changed then.</exception>
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

        CheckOverlaysCanRewind(checkpoint);

        // The record was taken from this machine, so RestoreState accepts it; it goes first in case it refuses anyway.
        RestoreState(checkpoint.State);
        foreach ((_, CopyOnWriteBlockDevice overlay) in checkpoint.Overlays)
        {
            overlay.RewindToCheckpoint();
        }

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
