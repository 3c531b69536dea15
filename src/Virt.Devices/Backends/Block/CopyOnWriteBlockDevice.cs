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
    private readonly Dictionary<long, byte[]> _memoryChunks = [];
    private readonly HashSet<long> _fileChunks = [];
    private readonly SafeFileHandle? _overlayFile;
    private readonly string? _overlayPath;
    private long _memoryInBytes;
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
        Name = baseDevice.Name + " (copy-on-write)";
    }

    /// <summary>The device under the overlay.</summary>
    public IBlockDevice Base => _base;

    /// <summary>Whether the overlay is a scratch file rather than host memory.</summary>
    public bool IsFileBacked => _overlayFile is not null;

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

            _base.Read(position, destination.Slice(done, run));
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

    /// <summary>Drops every change: the device reads as its base again.</summary>
    public void Discard()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
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
    /// </summary>
    /// <exception cref="InvalidOperationException">The base is read-only.</exception>
    public void Commit()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_base.IsReadOnly)
        {
            throw new InvalidOperationException($"'{Name}': cannot commit, the base '{_base.Name}' is read-only.");
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
        Discard();
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
            _memoryChunks.Clear();
            foreach ((long chunk, byte[] bytes) in chunks)
            {
                _memoryChunks.Add(chunk, (byte[])bytes.Clone());
            }

            _memoryInBytes = total;
            return;
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
            _memoryChunks[chunk].AsSpan(within, destination.Length).CopyTo(destination);
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
            if (!_memoryChunks.TryGetValue(chunk, out byte[]? bytes))
            {
                if (_memoryInBytes + chunkLength > _memoryBudgetInBytes)
                {
                    throw new IOException($"'{Name}': the in-memory overlay's budget of {_memoryBudgetInBytes} bytes is used up.");
                }

                bytes = new byte[chunkLength];
                if (data.Length != chunkLength)
                {
                    _base.Read(chunkOffset, bytes);
                }

                _memoryChunks.Add(chunk, bytes);
                _memoryInBytes += chunkLength;
            }

            data.CopyTo(bytes.AsSpan(within));
            return;
        }

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
            _base.Read(chunkOffset, merged);
        }

        data.CopyTo(merged.AsSpan(within));
        RandomAccess.Write(_overlayFile, merged, chunkOffset);
        _fileChunks.Add(chunk);
    }
}
