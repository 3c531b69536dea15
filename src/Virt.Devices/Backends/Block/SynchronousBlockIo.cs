namespace Virt.Devices;

/// <summary>
/// The asynchronous members of <see cref="IBlockDevice"/> for backends whose I/O is synchronous (memory, and files whose
/// reads the host's page cache serves): each checks cancellation, then completes the request at once.
/// </summary>
public static class SynchronousBlockIo
{
    /// <summary>Reads through <see cref="IBlockDevice.Read"/> and returns a completed task.</summary>
    /// <param name="device">The device.</param>
    /// <param name="offset">The byte offset of the first sector.</param>
    /// <param name="destination">Where to put the bytes.</param>
    /// <param name="cancellationToken">Checked before the read.</param>
    /// <returns>A completed task (or a faulted one when the read threw).</returns>
    public static ValueTask ReadAsync(IBlockDevice device, long offset, Memory<byte> destination, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(device);
        cancellationToken.ThrowIfCancellationRequested();
        device.Read(offset, destination.Span);
        return ValueTask.CompletedTask;
    }

    /// <summary>Writes through <see cref="IBlockDevice.Write"/> and returns a completed task.</summary>
    /// <param name="device">The device.</param>
    /// <param name="offset">The byte offset of the first sector.</param>
    /// <param name="source">The bytes.</param>
    /// <param name="cancellationToken">Checked before the write.</param>
    /// <returns>A completed task.</returns>
    public static ValueTask WriteAsync(IBlockDevice device, long offset, ReadOnlyMemory<byte> source, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(device);
        cancellationToken.ThrowIfCancellationRequested();
        device.Write(offset, source.Span);
        return ValueTask.CompletedTask;
    }

    /// <summary>Flushes through <see cref="IBlockDevice.Flush"/> and returns a completed task.</summary>
    /// <param name="device">The device.</param>
    /// <param name="cancellationToken">Checked before the flush.</param>
    /// <returns>A completed task.</returns>
    public static ValueTask FlushAsync(IBlockDevice device, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(device);
        cancellationToken.ThrowIfCancellationRequested();
        device.Flush();
        return ValueTask.CompletedTask;
    }
}
