namespace Virt.Devices;

/// <summary>
/// The host side of a disk, a CD or a floppy: a linear array of bytes addressed in whole sectors. The emulated controllers
/// (IDE, ATAPI, floppy) use the synchronous members on the machine thread; host code (tools, a harness preparing an image)
/// may use the asynchronous ones. One machine thread at a time: implementations need not be thread-safe between the two.
/// </summary>
/// <remarks>
/// <para>
/// Offsets and lengths are in bytes and are whole multiples of <see cref="SectorSize"/>; a request that is not, or that
/// reaches past <see cref="CapacityInBytes"/>, throws <see cref="ArgumentOutOfRangeException"/> (a controller checks the
/// guest's request against the capacity first and reports an address error to the guest itself).
/// </para>
/// <para>
/// A failure of the host (a full disk, a file that went away, an I/O error) throws <see cref="IOException"/>. A controller
/// turns it into a device error the guest sees (ATA ERR/ABRT, a floppy ST0 abnormal termination); it never reaches the
/// host's run loop. A write that failed leaves every byte written before it in place.
/// </para>
/// </remarks>
public interface IBlockDevice : IDisposable
{
    /// <summary>A name for messages and traces: the image's file name, or a description of an in-memory device.</summary>
    string Name { get; }

    /// <summary>The sector size in bytes (512 for disks and floppies, 2048 for CD media).</summary>
    int SectorSize { get; }

    /// <summary>The capacity in bytes (a whole number of sectors).</summary>
    long CapacityInBytes { get; }

    /// <summary>Whether writes are refused (<see cref="Write"/> and <see cref="WriteAsync"/> throw <see cref="InvalidOperationException"/>).</summary>
    bool IsReadOnly { get; }

    /// <summary>Reads whole sectors, synchronously (the controllers' fast path).</summary>
    /// <param name="offset">The byte offset of the first sector.</param>
    /// <param name="destination">Where to put the bytes; its length is a whole number of sectors.</param>
    void Read(long offset, Span<byte> destination);

    /// <summary>Writes whole sectors, synchronously.</summary>
    /// <param name="offset">The byte offset of the first sector.</param>
    /// <param name="source">The bytes; its length is a whole number of sectors.</param>
    void Write(long offset, ReadOnlySpan<byte> source);

    /// <summary>Makes every completed write durable on the host (the guest's FLUSH CACHE).</summary>
    void Flush();

    /// <summary>Reads whole sectors.</summary>
    /// <param name="offset">The byte offset of the first sector.</param>
    /// <param name="destination">Where to put the bytes; its length is a whole number of sectors.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>A task that completes when the bytes are in <paramref name="destination"/>.</returns>
    ValueTask ReadAsync(long offset, Memory<byte> destination, CancellationToken cancellationToken = default);

    /// <summary>Writes whole sectors.</summary>
    /// <param name="offset">The byte offset of the first sector.</param>
    /// <param name="source">The bytes; its length is a whole number of sectors.</param>
    /// <param name="cancellationToken">Cancels the write (sectors already written stay written).</param>
    /// <returns>A task that completes when the bytes are written.</returns>
    ValueTask WriteAsync(long offset, ReadOnlyMemory<byte> source, CancellationToken cancellationToken = default);

    /// <summary>Makes every completed write durable on the host.</summary>
    /// <param name="cancellationToken">Cancels the flush.</param>
    /// <returns>A task that completes when the writes are durable.</returns>
    ValueTask FlushAsync(CancellationToken cancellationToken = default);
}
