namespace Virt.Devices;

/// <summary>
/// A block device held in host memory: a scratch disk for tests, a RAM disk, or an image a host built in memory. Its
/// contents are lost when it is dropped.
/// </summary>
public sealed class MemoryBlockDevice : IBlockDevice
{
    private readonly byte[] _data;

    /// <summary>Creates a zero-filled device.</summary>
    /// <param name="capacityInBytes">The capacity, a whole number of sectors (at most 2 GiB less one sector).</param>
    /// <param name="sectorSize">The sector size (512 or 2048).</param>
    /// <param name="readOnly">Whether writes are refused.</param>
    /// <param name="name">A name for messages.</param>
    public MemoryBlockDevice(long capacityInBytes, int sectorSize = 512, bool readOnly = false, string name = "memory")
        : this(CheckedBuffer(capacityInBytes, sectorSize), sectorSize, readOnly, name)
    {
    }

    /// <summary>Creates a device over an existing buffer (not copied: the device reads and writes it).</summary>
    /// <param name="data">The contents; its length is a whole number of sectors.</param>
    /// <param name="sectorSize">The sector size (512 or 2048).</param>
    /// <param name="readOnly">Whether writes are refused.</param>
    /// <param name="name">A name for messages.</param>
    public MemoryBlockDevice(byte[] data, int sectorSize = 512, bool readOnly = false, string name = "memory")
    {
        ArgumentNullException.ThrowIfNull(data);
        CheckSectorSize(sectorSize);
        if (data.Length % sectorSize != 0)
        {
            throw new ArgumentException($"The buffer's length {data.Length} is not a whole number of {sectorSize}-byte sectors.", nameof(data));
        }

        _data = data;
        SectorSize = sectorSize;
        IsReadOnly = readOnly;
        Name = name;
    }

    /// <inheritdoc/>
    public string Name { get; }

    /// <inheritdoc/>
    public int SectorSize { get; }

    /// <inheritdoc/>
    public long CapacityInBytes => _data.Length;

    /// <inheritdoc/>
    public bool IsReadOnly { get; }

    /// <summary>The number of completed <see cref="Flush"/> calls (lets tests see that a guest's FLUSH CACHE arrived).</summary>
    public long FlushCount { get; private set; }

    /// <inheritdoc/>
    public void Read(long offset, Span<byte> destination)
    {
        BlockRequest.Validate(this, offset, destination.Length);
        _data.AsSpan((int)offset, destination.Length).CopyTo(destination);
    }

    /// <inheritdoc/>
    public void Write(long offset, ReadOnlySpan<byte> source)
    {
        BlockRequest.EnsureWritable(this);
        BlockRequest.Validate(this, offset, source.Length);
        source.CopyTo(_data.AsSpan((int)offset));
    }

    /// <inheritdoc/>
    public void Flush() => FlushCount++;

    /// <inheritdoc/>
    public ValueTask ReadAsync(long offset, Memory<byte> destination, CancellationToken cancellationToken = default) =>
        SynchronousBlockIo.ReadAsync(this, offset, destination, cancellationToken);

    /// <inheritdoc/>
    public ValueTask WriteAsync(long offset, ReadOnlyMemory<byte> source, CancellationToken cancellationToken = default) =>
        SynchronousBlockIo.WriteAsync(this, offset, source, cancellationToken);

    /// <inheritdoc/>
    public ValueTask FlushAsync(CancellationToken cancellationToken = default) => SynchronousBlockIo.FlushAsync(this, cancellationToken);

    /// <inheritdoc/>
    public void Dispose()
    {
    }

    private static byte[] CheckedBuffer(long capacityInBytes, int sectorSize)
    {
        CheckSectorSize(sectorSize);
        if (capacityInBytes < 0 || capacityInBytes % sectorSize != 0 || capacityInBytes > Array.MaxLength - sectorSize)
        {
            throw new ArgumentOutOfRangeException(nameof(capacityInBytes), capacityInBytes, $"The capacity must be a whole number of {sectorSize}-byte sectors below 2 GiB.");
        }

        return new byte[capacityInBytes];
    }

    private static void CheckSectorSize(int sectorSize)
    {
        if (sectorSize is not (512 or 2048))
        {
            throw new ArgumentOutOfRangeException(nameof(sectorSize), sectorSize, "The sector size must be 512 or 2048 bytes.");
        }
    }
}
