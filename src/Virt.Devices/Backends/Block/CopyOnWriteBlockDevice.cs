using Microsoft.Win32.SafeHandles;

namespace Virt.Devices;

/// <summary>
/// A copy-on-write overlay over any block device: writes go to the overlay in chunks of <see cref="ChunkSizeInBytes"/>
/// bytes, reads take a written chunk from the overlay and everything else from the base. The base is never written,
/// except by an explicit <see cref="Commit"/>; it may be (and usually is) read-only. The overlay lives in host memory, up to
/// a byte budget, or in a sparse scratch file (<see cref="CreateWithFile"/>).
/// </summary>
/// <remarks>
/// The scratch file is not a persistent format: which chunks it holds is known only to this object, and the file is
/// deleted when the device is disposed. For an overlay that outlives the process, create a qcow2 image with a backing
/// file (<see cref="Qcow2BlockDevice.CreateOverlay"/>).
/// </remarks>
public sealed class CopyOnWriteBlockDevice : IBlockDevice
{
    /// <summary>The overlay's unit: a whole number of sectors of either size (512 and 2048), one host page.</summary>
    public const int ChunkSizeInBytes = 4096;

    /// <summary>The default budget of an in-memory overlay: 1 GiB.</summary>
    public const long DefaultMemoryBudgetInBytes = 1L << 30;

    private readonly IBlockDevice _base;
    private readonly bool _leaveBaseOpen;
    private readonly long _memoryBudgetInBytes;
    /// <summary>Epochs are unique across all overlays of the process, so a chunk copied into a fork never matches either side's epoch.</summary>
    private static long s_lastEpoch;

    private readonly Dictionary<long, MemoryChunk> _memoryChunks = [];
    private readonly HashSet<long> _fileChunks = [];
    private readonly SafeFileHandle? _overlayFile;
    private readonly string? _overlayPath;

    // Serializes reads of the base between this overlay and its forks, which may run on other threads: a base such as a
    // qcow2 image keeps caches and is not safe for concurrent use (IBlockDevice promises one thread at a time).
    private readonly Lock _baseLock;
    private long _memoryInBytes;

    // The in-memory chunks stamped with this epoch belong to this overlay alone and may be written in place; any other
    // stamp means the bytes are shared (with a fork, or with the checkpoint's undo log) and are copied before a write.
    private long _epoch = NextEpoch();

    // While a checkpoint is set: chunk index to its contents at the checkpoint (null: the chunk was not in the overlay),
    // one entry per chunk changed since, the first change only. In-memory overlays keep the replaced chunk (shared,
    // never written again); scratch-file overlays a copy of its bytes read from the file.
    private Dictionary<long, MemoryChunk?>? _undo;
    private bool _disposed;

    /// <summary>Creates an overlay held in host memory.</summary>
    /// <param name="baseDevice">The device under the overlay (never written except by <see cref="Commit"/>).</param>
    /// <param name="memoryBudgetInBytes">
    /// The most bytes of changed chunks to hold; a write that would need more fails with an <see cref="IOException"/>
    /// (the guest sees a device error, as on a full host disk).
    /// </param>
    /// <param name="leaveBaseOpen">Whether <see cref="Dispose"/> leaves the base open (by default it disposes it).</param>
    public CopyOnWriteBlockDevice(IBlockDevice baseDevice, long memoryBudgetInBytes = DefaultMemoryBudgetInBytes, bool leaveBaseOpen = false)
        : this(baseDevice, leaveBaseOpen, memoryBudgetInBytes, overlayFile: null, overlayPath: null)
    {
    }

    private CopyOnWriteBlockDevice(IBlockDevice baseDevice, bool leaveBaseOpen, long memoryBudgetInBytes, SafeFileHandle? overlayFile, string? overlayPath)
    {
        ArgumentNullException.ThrowIfNull(baseDevice);
        ArgumentOutOfRangeException.ThrowIfNegative(memoryBudgetInBytes);
        _base = baseDevice;
        _leaveBaseOpen = leaveBaseOpen;
        _memoryBudgetInBytes = memoryBudgetInBytes;
        _overlayFile = overlayFile;
        _overlayPath = overlayPath;
        _baseLock = new Lock();
        Name = baseDevice.Name + " (copy-on-write)";
    }

    /// <summary>A fork of <paramref name="parent"/>: same base, budget and base lock, and a copy of the parent's chunk table (memory) or file (scratch).</summary>
    private CopyOnWriteBlockDevice(CopyOnWriteBlockDevice parent, SafeFileHandle? overlayFile, string? overlayPath)
    {
        _base = parent._base;
        _leaveBaseOpen = true;
        _memoryBudgetInBytes = parent._memoryBudgetInBytes;
        _overlayFile = overlayFile;
        _overlayPath = overlayPath;
        _baseLock = parent._baseLock;
        Name = parent.Name;

        // The copy constructor copies the table's arrays wholesale (much faster than adding entry by entry).
        _memoryChunks = overlayFile is null ? new Dictionary<long, MemoryChunk>(parent._memoryChunks) : [];
        _memoryInBytes = overlayFile is null ? parent._memoryInBytes : 0;
    }

    /// <summary>The device under the overlay.</summary>
    public IBlockDevice Base => _base;

    /// <summary>Whether the overlay is a scratch file rather than host memory.</summary>
    public bool IsFileBacked => _overlayFile is not null;

    /// <summary>Whether this overlay was forked or is a fork: its base is read by another overlay, perhaps on another thread.</summary>
    public bool IsBaseShared { get; private set; }

    /// <summary>Whether a checkpoint is set (<see cref="Checkpoint"/>), so <see cref="RewindToCheckpoint"/> can go back to it.</summary>
    public bool HasCheckpoint => _undo is not null;

    /// <summary>The chunks changed since the checkpoint (the ones <see cref="RewindToCheckpoint"/> would put back); 0 without a checkpoint.</summary>
    public int ChunksChangedSinceCheckpoint => _undo?.Count ?? 0;

    /// <summary>The number of chunks written since the overlay was created or last discarded or committed.</summary>
    public int ChangedChunkCount => _overlayFile is null ? _memoryChunks.Count : _fileChunks.Count;

    /// <summary>The most bytes of changed chunks an in-memory overlay holds (<see cref="long.MaxValue"/> for a scratch file).</summary>
    public long MemoryBudgetInBytes => _memoryBudgetInBytes;

    /// <summary>The number of chunks the device is divided into (the last one may be shorter than <see cref="ChunkSizeInBytes"/>).</summary>
    public long ChunkCount => (CapacityInBytes + ChunkSizeInBytes - 1) / ChunkSizeInBytes;

    /// <inheritdoc/>
    public string Name { get; }

    /// <inheritdoc/>
    public int SectorSize => _base.SectorSize;

    /// <inheritdoc/>
    public long CapacityInBytes => _base.CapacityInBytes;

    /// <summary>Always false: the overlay takes the writes whether or not the base could.</summary>
    public bool IsReadOnly => false;

    /// <summary>Creates an overlay in a new sparse scratch file, deleted again when the device is disposed.</summary>
    /// <param name="baseDevice">The device under the overlay (never written except by <see cref="Commit"/>).</param>
    /// <param name="overlayPath">The scratch file to create; it must not exist.</param>
    /// <param name="leaveBaseOpen">Whether <see cref="Dispose"/> leaves the base open (by default it disposes it).</param>
    /// <returns>The overlay.</returns>
    /// <exception cref="IOException">The file exists or cannot be created.</exception>
    public static CopyOnWriteBlockDevice CreateWithFile(IBlockDevice baseDevice, string overlayPath, bool leaveBaseOpen = false)
    {
        ArgumentNullException.ThrowIfNull(baseDevice);
        ArgumentException.ThrowIfNullOrEmpty(overlayPath);
        SafeFileHandle handle = File.OpenHandle(overlayPath, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None);
        try
        {
            // A chunk lives at its own offset; the holes between written chunks take no space on file systems that
            // support sparse files (ext4, xfs, btrfs, tmpfs; NTFS needs the sparse attribute and would allocate them).
            RandomAccess.SetLength(handle, baseDevice.CapacityInBytes);
            return new CopyOnWriteBlockDevice(baseDevice, leaveBaseOpen, long.MaxValue, handle, overlayPath);
        }
        catch
        {
            handle.Dispose();
            File.Delete(overlayPath);
            throw;
        }
    }

    /// <inheritdoc/>
    public void Read(long offset, Span<byte> destination)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        BlockRequest.Validate(this, offset, destination.Length);
        int done = 0;
        while (done < destination.Length)
        {
            long position = offset + done;
            long chunk = position / ChunkSizeInBytes;
            int within = (int)(position % ChunkSizeInBytes);
            int length = Math.Min(destination.Length - done, ChunkLength(chunk) - within);
            if (HasChunk(chunk))
            {
                ReadChunk(chunk, within, destination.Slice(done, length));
                done += length;
                continue;
            }

            // A run of unchanged chunks is one read of the base.
            int run = length;
            while (done + run < destination.Length && !HasChunk((position + run) / ChunkSizeInBytes))
            {
                run += Math.Min(destination.Length - done - run, ChunkSizeInBytes);
            }

            ReadBase(position, destination.Slice(done, run));
            done += run;
        }
    }

    /// <inheritdoc/>
    public void Write(long offset, ReadOnlySpan<byte> source)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        BlockRequest.Validate(this, offset, source.Length);
        int done = 0;
        while (done < source.Length)
        {
            long position = offset + done;
            long chunk = position / ChunkSizeInBytes;
            int within = (int)(position % ChunkSizeInBytes);
            int chunkLength = ChunkLength(chunk);
            int length = Math.Min(source.Length - done, chunkLength - within);
            WriteChunk(chunk, chunkLength, within, source.Slice(done, length));
            done += length;
        }
    }

    /// <inheritdoc/>
    public void Flush()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);

        // The base holds nothing of ours; only a scratch file has anything to make durable.
        if (_overlayFile is not null)
        {
            RandomAccess.FlushToDisk(_overlayFile);
        }
    }

    /// <summary>Drops every change: the device reads as its base again. A checkpoint stays set (a rewind brings the changes back).</summary>
    public void Discard()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        IEnumerable<long> held = _overlayFile is null ? _memoryChunks.Keys : _fileChunks;
        foreach (long chunk in held.ToArray())
        {
            LogChange(chunk);
        }

        _memoryChunks.Clear();
        _memoryInBytes = 0;
        if (_overlayFile is not null)
        {
            _fileChunks.Clear();

            // Truncating and extending again gives the written blocks back to the host file system.
            RandomAccess.SetLength(_overlayFile, 0);
            RandomAccess.SetLength(_overlayFile, CapacityInBytes);
        }
    }

    /// <summary>
    /// Writes every change to the base, flushes the base, then empties the overlay. If a write to the base fails the
    /// <see cref="IOException"/> propagates and the overlay keeps every change (the device still reads the same).
    /// A checkpoint is dropped: the base changed under it, so the overlay alone can no longer go back.
    /// </summary>
    /// <exception cref="InvalidOperationException">The base is read-only, or shared with a fork (<see cref="Fork"/>), which reads it too.</exception>
    public void Commit()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_base.IsReadOnly)
        {
            throw new InvalidOperationException($"'{Name}': cannot commit, the base '{_base.Name}' is read-only.");
        }

        if (IsBaseShared)
        {
            throw new InvalidOperationException($"'{Name}': cannot commit, the base '{_base.Name}' is shared with a fork of this overlay, which would see it change.");
        }

        List<long> chunks = _overlayFile is null ? [.. _memoryChunks.Keys] : [.. _fileChunks];
        chunks.Sort();
        byte[] buffer = new byte[ChunkSizeInBytes];
        foreach (long chunk in chunks)
        {
            int length = ChunkLength(chunk);
            ReadChunk(chunk, 0, buffer.AsSpan(0, length));
            _base.Write(chunk * ChunkSizeInBytes, buffer.AsSpan(0, length));
        }

        _base.Flush();
        _undo = null;
        Discard();
    }

    /// <summary>
    /// Sets a checkpoint: <see cref="RewindToCheckpoint"/> brings the overlay back to what it holds now. Replaces an
    /// earlier checkpoint. It copies nothing and costs the same whatever the overlay holds: in memory, the chunks become
    /// shared with the checkpoint (a new epoch), and the first later write to each is made on a copy; a scratch file
    /// keeps a copy of each chunk's bytes before its first later change. So the price is paid per chunk changed since.
    /// </summary>
    public void Checkpoint()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        _epoch = NextEpoch();
        _undo = [];
    }

    /// <summary>
    /// Puts back every chunk changed since <see cref="Checkpoint"/> (written, discarded or replaced): the device then
    /// reads exactly as it did at the checkpoint. The checkpoint stays set, so this may be done again. The cost grows
    /// with the chunks changed since the checkpoint, not with the overlay's size.
    /// </summary>
    /// <returns>The number of chunks put back.</returns>
    /// <exception cref="InvalidOperationException">No checkpoint is set (none taken, or <see cref="Commit"/> since).</exception>
    public int RewindToCheckpoint()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        Dictionary<long, MemoryChunk?> undo = _undo
            ?? throw new InvalidOperationException($"'{Name}': no checkpoint to rewind to (none was taken, or a commit dropped it).");
        foreach ((long chunk, MemoryChunk? saved) in undo)
        {
            if (_overlayFile is null)
            {
                if (_memoryChunks.Remove(chunk, out MemoryChunk? current))
                {
                    _memoryInBytes -= current.Bytes.Length;
                }

                if (saved is not null)
                {
                    // The saved chunk keeps its old epoch, so it stays read-only: a fork may share it.
                    _memoryChunks.Add(chunk, saved);
                    _memoryInBytes += saved.Bytes.Length;
                }
            }
            else if (saved is null)
            {
                _fileChunks.Remove(chunk);
            }
            else
            {
                RandomAccess.Write(_overlayFile, saved.Bytes, chunk * ChunkSizeInBytes);
                _fileChunks.Add(chunk);
            }
        }

        int count = undo.Count;
        undo.Clear();
        return count;
    }

    /// <summary>
    /// Creates an independent overlay over the same base that reads exactly as this one does now; afterwards each takes
    /// its own writes and neither sees the other's, and the base is still never written. An in-memory overlay shares its
    /// chunks with the fork copy-on-write (the chunk table is copied, no chunk data; the first write to a shared chunk on
    /// either side copies that chunk); a scratch-file overlay gets a new scratch file beside its own (or at
    /// <paramref name="overlayPath"/>) with the written chunks copied into it. Reads of the base from both are serialized,
    /// so the two may run on different threads. The fork leaves the base open when disposed (this overlay owns it) and has
    /// no checkpoint; this overlay keeps its own.
    /// </summary>
    /// <param name="overlayPath">For a scratch-file overlay, the fork's file (must not exist), or null for a new name beside this one's. Ignored in memory.</param>
    /// <returns>The fork; the caller disposes it.</returns>
    /// <exception cref="IOException">The fork's scratch file cannot be created or written.</exception>
    public CopyOnWriteBlockDevice Fork(string? overlayPath = null)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        IsBaseShared = true;
        if (_overlayFile is null)
        {
            var child = new CopyOnWriteBlockDevice(this, overlayFile: null, overlayPath: null) { IsBaseShared = true };

            // Both sides move to new epochs: every chunk they hold now is shared and is copied before it is written.
            _epoch = NextEpoch();
            return child;
        }

        string path = overlayPath ?? Path.Combine(Path.GetDirectoryName(_overlayPath) ?? ".", $"{Path.GetFileNameWithoutExtension(_overlayPath)}-fork-{Guid.NewGuid():N}.overlay");
        SafeFileHandle handle = File.OpenHandle(path, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None);
        var fork = new CopyOnWriteBlockDevice(this, handle, path) { IsBaseShared = true };
        try
        {
            RandomAccess.SetLength(handle, CapacityInBytes);
            byte[] buffer = new byte[ChunkSizeInBytes];
            foreach (long chunk in _fileChunks)
            {
                Span<byte> bytes = buffer.AsSpan(0, ChunkLength(chunk));
                ReadChunk(chunk, 0, bytes);
                RandomAccess.Write(handle, bytes, chunk * ChunkSizeInBytes);
                fork._fileChunks.Add(chunk);
            }
        }
        catch
        {
            fork.Dispose();
            throw;
        }

        return fork;
    }

    /// <summary>
    /// The indexes of the chunks the overlay holds (written since it was created, discarded or committed), in ascending
    /// order. Chunk n covers bytes n x <see cref="ChunkSizeInBytes"/> to <see cref="GetChunkLength"/>(n) bytes on;
    /// <see cref="Read"/> of that range returns the overlay's bytes. A machine snapshot saves these (docs/snapshots.md).
    /// </summary>
    /// <returns>The chunk indexes.</returns>
    public IReadOnlyList<long> GetChangedChunks()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        List<long> chunks = _overlayFile is null ? [.. _memoryChunks.Keys] : [.. _fileChunks];
        chunks.Sort();
        return chunks;
    }

    /// <summary>The length in bytes of chunk <paramref name="chunk"/>: <see cref="ChunkSizeInBytes"/>, less for the last chunk of a device whose capacity is not a multiple of it.</summary>
    /// <param name="chunk">A chunk index below <see cref="ChunkCount"/>.</param>
    /// <returns>The length.</returns>
    public int GetChunkLength(long chunk)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(chunk);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(chunk, ChunkCount);
        return ChunkLength(chunk);
    }

    /// <summary>
    /// Replaces the overlay's contents with <paramref name="chunks"/> (chunk index to its bytes): afterwards the device
    /// reads those chunks from the overlay and everything else from the base, as if just these chunks had been written
    /// since the overlay was created. Every chunk is checked (index, length, the in-memory budget) before anything changes;
    /// an in-memory overlay is then replaced at once. A scratch file is rewritten chunk by chunk, so an I/O error of the
    /// host part-way leaves it partly replaced (the <see cref="IOException"/> propagates).
    /// </summary>
    /// <param name="chunks">The chunks; each array is <see cref="GetChunkLength"/>(index) bytes long. The arrays are copied.</param>
    /// <exception cref="ArgumentException">When a chunk index is out of range, a chunk has the wrong length, or the chunks exceed the budget; nothing changed.</exception>
    public void ReplaceChanges(IReadOnlyDictionary<long, byte[]> chunks)
    {
        ArgumentNullException.ThrowIfNull(chunks);
        ObjectDisposedException.ThrowIf(_disposed, this);
        long total = 0;
        foreach ((long chunk, byte[] bytes) in chunks)
        {
            if (chunk < 0 || chunk >= ChunkCount)
            {
                throw new ArgumentException($"'{Name}': chunk {chunk} is beyond the device's {ChunkCount} chunks.", nameof(chunks));
            }

            if (bytes is null || bytes.Length != ChunkLength(chunk))
            {
                throw new ArgumentException($"'{Name}': chunk {chunk} has {bytes?.Length ?? 0} bytes, not {ChunkLength(chunk)}.", nameof(chunks));
            }

            total += bytes.Length;
        }

        if (_overlayFile is null && total > _memoryBudgetInBytes)
        {
            throw new ArgumentException($"'{Name}': {total} bytes of chunks exceed the in-memory overlay's budget of {_memoryBudgetInBytes} bytes.", nameof(chunks));
        }

        if (_overlayFile is null)
        {
            foreach (long chunk in _memoryChunks.Keys.Concat(chunks.Keys))
            {
                LogChange(chunk);
            }

            _memoryChunks.Clear();
            foreach ((long chunk, byte[] bytes) in chunks)
            {
                _memoryChunks.Add(chunk, new MemoryChunk((byte[])bytes.Clone(), _epoch));
            }

            _memoryInBytes = total;
            return;
        }

        foreach (long chunk in chunks.Keys)
        {
            LogChange(chunk);
        }

        Discard();
        foreach ((long chunk, byte[] bytes) in chunks)
        {
            RandomAccess.Write(_overlayFile, bytes, chunk * ChunkSizeInBytes);
            _fileChunks.Add(chunk);
        }
    }

    /// <inheritdoc/>
    public ValueTask ReadAsync(long offset, Memory<byte> destination, CancellationToken cancellationToken = default) =>
        SynchronousBlockIo.ReadAsync(this, offset, destination, cancellationToken);

    /// <inheritdoc/>
    public ValueTask WriteAsync(long offset, ReadOnlyMemory<byte> source, CancellationToken cancellationToken = default) =>
        SynchronousBlockIo.WriteAsync(this, offset, source, cancellationToken);

    /// <inheritdoc/>
    public ValueTask FlushAsync(CancellationToken cancellationToken = default) => SynchronousBlockIo.FlushAsync(this, cancellationToken);

    /// <summary>Frees the overlay (deleting a scratch file) and disposes the base unless asked to leave it open.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _memoryChunks.Clear();
        _undo = null;
        if (_overlayFile is not null)
        {
            _overlayFile.Dispose();
            File.Delete(_overlayPath!);
        }

        if (!_leaveBaseOpen)
        {
            _base.Dispose();
        }
    }

    private int ChunkLength(long chunk) => (int)Math.Min(ChunkSizeInBytes, CapacityInBytes - (chunk * ChunkSizeInBytes));

    private bool HasChunk(long chunk) => _overlayFile is null ? _memoryChunks.ContainsKey(chunk) : _fileChunks.Contains(chunk);

    private void ReadChunk(long chunk, int within, Span<byte> destination)
    {
        if (_overlayFile is null)
        {
            _memoryChunks[chunk].Bytes.AsSpan(within, destination.Length).CopyTo(destination);
            return;
        }

        long position = (chunk * ChunkSizeInBytes) + within;
        int done = 0;
        while (done < destination.Length)
        {
            int n = RandomAccess.Read(_overlayFile, destination[done..], position + done);
            if (n == 0)
            {
                throw new IOException($"'{_overlayPath}': the overlay file is shorter than the device.");
            }

            done += n;
        }
    }

    private void WriteChunk(long chunk, int chunkLength, int within, ReadOnlySpan<byte> data)
    {
        long chunkOffset = chunk * ChunkSizeInBytes;
        if (_overlayFile is null)
        {
            if (_memoryChunks.TryGetValue(chunk, out MemoryChunk? entry))
            {
                if (entry.Epoch != _epoch)
                {
                    // Shared with a fork or held for the checkpoint: write a copy, and keep the old one for a rewind.
                    _undo?.TryAdd(chunk, entry);
                    entry = new MemoryChunk((byte[])entry.Bytes.Clone(), _epoch);
                    _memoryChunks[chunk] = entry;
                }
            }
            else
            {
                if (_memoryInBytes + chunkLength > _memoryBudgetInBytes)
                {
                    throw new IOException($"'{Name}': the in-memory overlay's budget of {_memoryBudgetInBytes} bytes is used up.");
                }

                byte[] bytes = new byte[chunkLength];
                if (data.Length != chunkLength)
                {
                    ReadBase(chunkOffset, bytes);
                }

                _undo?.TryAdd(chunk, null);
                entry = new MemoryChunk(bytes, _epoch);
                _memoryChunks.Add(chunk, entry);
                _memoryInBytes += chunkLength;
            }

            data.CopyTo(entry.Bytes.AsSpan(within));
            return;
        }

        LogChange(chunk);
        if (_fileChunks.Contains(chunk))
        {
            RandomAccess.Write(_overlayFile, data, chunkOffset + within);
            return;
        }

        // First write to the chunk: the whole chunk goes to the file (the base's bytes around the new ones), and only
        // then is it marked present, so a failed write leaves the device reading as before.
        byte[] merged = new byte[chunkLength];
        if (data.Length != chunkLength)
        {
            ReadBase(chunkOffset, merged);
        }

        data.CopyTo(merged.AsSpan(within));
        RandomAccess.Write(_overlayFile, merged, chunkOffset);
        _fileChunks.Add(chunk);
    }

    private static long NextEpoch() => Interlocked.Increment(ref s_lastEpoch);

    private void ReadBase(long offset, Span<byte> destination)
    {
        lock (_baseLock)
        {
            _base.Read(offset, destination);
        }
    }

    /// <summary>Before the first change of <paramref name="chunk"/> since the checkpoint, keeps what it holds now for <see cref="RewindToCheckpoint"/>.</summary>
    private void LogChange(long chunk)
    {
        if (_undo is null || _undo.ContainsKey(chunk))
        {
            return;
        }

        if (_overlayFile is null)
        {
            _undo.Add(chunk, _memoryChunks.GetValueOrDefault(chunk));
            return;
        }

        if (!_fileChunks.Contains(chunk))
        {
            _undo.Add(chunk, null);
            return;
        }

        byte[] bytes = new byte[ChunkLength(chunk)];
        ReadChunk(chunk, 0, bytes);
        _undo.Add(chunk, new MemoryChunk(bytes, Epoch: 0));
    }

    /// <summary>An in-memory chunk: its bytes, written in place only while <paramref name="Epoch"/> is the overlay's current epoch.</summary>
    private sealed record MemoryChunk(byte[] Bytes, long Epoch);
}
