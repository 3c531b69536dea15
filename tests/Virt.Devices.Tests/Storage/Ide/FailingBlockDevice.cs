namespace Virt.Devices.Tests.Storage.Ide;

/// <summary>A block device over memory whose host reads or writes fail (IOException) from a given byte offset on, as a failing disk would.</summary>
public sealed class FailingBlockDevice(MemoryBlockDevice inner, long failFromOffset, bool failReads, bool failWrites) : IBlockDevice
{
    public string Name => "failing";

    public int SectorSize => inner.SectorSize;

    public long CapacityInBytes => inner.CapacityInBytes;

    public bool IsReadOnly => false;

    public int FlushCount { get; private set; }

    public void Read(long offset, Span<byte> destination)
    {
        if (failReads && offset + destination.Length > failFromOffset)
        {
            throw new IOException("simulated read failure");
        }

        inner.Read(offset, destination);
    }

    public void Write(long offset, ReadOnlySpan<byte> source)
    {
        if (failWrites && offset + source.Length > failFromOffset)
        {
            throw new IOException("simulated write failure");
        }

        inner.Write(offset, source);
    }

    public void Flush() => throw new IOException("simulated flush failure");

    public ValueTask ReadAsync(long offset, Memory<byte> destination, CancellationToken cancellationToken = default)
    {
        Read(offset, destination.Span);
        return ValueTask.CompletedTask;
    }

    public ValueTask WriteAsync(long offset, ReadOnlyMemory<byte> source, CancellationToken cancellationToken = default)
    {
        Write(offset, source.Span);
        return ValueTask.CompletedTask;
    }

    public ValueTask FlushAsync(CancellationToken cancellationToken = default)
    {
        Flush();
        return ValueTask.CompletedTask;
    }

    public void Dispose()
    {
    }
}
