using Microsoft.Win32.SafeHandles;

namespace Virt.Devices;

/// <summary>
/// A raw disk image file: the device's bytes are the file's bytes, read and written through <see cref="RandomAccess"/> on
/// a <see cref="SafeFileHandle"/>. Opened read-only unless asked otherwise.
/// </summary>
/// <remarks>
/// A writable image's length must be a whole number of sectors (a write could not extend the file to a partial sector
/// consistently). A read-only image whose length is not (an ISO some tool did not pad to 2048 bytes, a truncated floppy)
/// gets a capacity rounded up to the next sector; the bytes past the end of the file read as zeros, as a real drive's
/// unrecorded area would.
/// </remarks>
public sealed class RawImageBlockDevice : IBlockDevice
{
    private readonly SafeFileHandle _handle;

    /// <summary>Opens an image file.</summary>
    /// <param name="path">The image file.</param>
    /// <param name="readOnly">Whether writes are refused (the file is then opened for reading only).</param>
    /// <param name="sectorSize">The sector size: 512 for disks and floppies, 2048 for CD media.</param>
    /// <exception cref="ArgumentOutOfRangeException">The sector size is not 512 or 2048.</exception>
    /// <exception cref="DiskImageFormatException">A writable image's length is not a whole number of sectors.</exception>
    /// <exception cref="IOException">The file cannot be opened.</exception>
    public RawImageBlockDevice(string path, bool readOnly = true, int sectorSize = 512)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (sectorSize is not (512 or 2048))
        {
            throw new ArgumentOutOfRangeException(nameof(sectorSize), sectorSize, "The sector size must be 512 or 2048 bytes.");
        }

        _handle = readOnly
            ? File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read)
            : File.OpenHandle(path, FileMode.Open, FileAccess.ReadWrite, FileShare.Read);
        long fileLength;
        try
        {
            fileLength = RandomAccess.GetLength(_handle);
            if (fileLength % sectorSize != 0 && !readOnly)
            {
                throw new DiskImageFormatException(path, "length", $"{fileLength} bytes is not a whole number of {sectorSize}-byte sectors (open it read-only to pad the last sector with zeros)");
            }
        }
        catch
        {
            _handle.Dispose();
            throw;
        }

        FilePath = path;
        Name = Path.GetFileName(path);
        SectorSize = sectorSize;
        IsReadOnly = readOnly;
        CapacityInBytes = (fileLength + sectorSize - 1) / sectorSize * sectorSize;
    }

    /// <summary>The image file.</summary>
    public string FilePath { get; }

    /// <inheritdoc/>
    public string Name { get; }

    /// <inheritdoc/>
    public int SectorSize { get; }

    /// <inheritdoc/>
    public long CapacityInBytes { get; }

    /// <inheritdoc/>
    public bool IsReadOnly { get; }

    /// <inheritdoc/>
    public void Read(long offset, Span<byte> destination)
    {
        BlockRequest.Validate(this, offset, destination.Length);
        int done = 0;
        while (done < destination.Length)
        {
            int n = RandomAccess.Read(_handle, destination[done..], offset + done);
            if (n == 0)
            {
                // Past the end of the file: the padding of the last sector (or a file shortened behind our back).
                destination[done..].Clear();
                return;
            }

            done += n;
        }
    }

    /// <inheritdoc/>
    public void Write(long offset, ReadOnlySpan<byte> source)
    {
        BlockRequest.EnsureWritable(this);
        BlockRequest.Validate(this, offset, source.Length);
        RandomAccess.Write(_handle, source, offset);
    }

    /// <inheritdoc/>
    public void Flush()
    {
        if (!IsReadOnly)
        {
            RandomAccess.FlushToDisk(_handle);
        }
    }

    /// <inheritdoc/>
    public async ValueTask ReadAsync(long offset, Memory<byte> destination, CancellationToken cancellationToken = default)
    {
        BlockRequest.Validate(this, offset, destination.Length);
        int done = 0;
        while (done < destination.Length)
        {
            int n = await RandomAccess.ReadAsync(_handle, destination[done..], offset + done, cancellationToken).ConfigureAwait(false);
            if (n == 0)
            {
                destination.Span[done..].Clear();
                return;
            }

            done += n;
        }
    }

    /// <inheritdoc/>
    public ValueTask WriteAsync(long offset, ReadOnlyMemory<byte> source, CancellationToken cancellationToken = default)
    {
        BlockRequest.EnsureWritable(this);
        BlockRequest.Validate(this, offset, source.Length);
        return RandomAccess.WriteAsync(_handle, source, offset, cancellationToken);
    }

    /// <inheritdoc/>
    public ValueTask FlushAsync(CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        Flush();
        return ValueTask.CompletedTask;
    }

    /// <inheritdoc/>
    public void Dispose() => _handle.Dispose();
}
