namespace Virt.Devices.Tests.Backends.Block;

/// <summary>A memory device whose host I/O can be made to fail, as a full or vanished disk would.</summary>
internal sealed class FailingBlockDevice(int capacityInBytes) : IBlockDevice
{
    private readonly MemoryBlockDevice _inner = new(capacityInBytes);

    public bool FailWrites { get; set; }

    public bool FailReads { get; set; }

    public int WriteCount { get; private set; }

    public string Name => "failing";

    public int SectorSize => 512;

    public long CapacityInBytes => _inner.CapacityInBytes;

    public bool IsReadOnly => false;

    public void Read(long offset, Span<byte> destination)
    {
        if (FailReads)
        {
            throw new IOException("injected read failure");
        }

        _inner.Read(offset, destination);
    }

    public void Write(long offset, ReadOnlySpan<byte> source)
    {
        if (FailWrites)
        {
            throw new IOException("injected write failure");
        }

        WriteCount++;
        _inner.Write(offset, source);
    }

    public void Flush() => _inner.Flush();

    public ValueTask ReadAsync(long offset, Memory<byte> destination, CancellationToken cancellationToken = default) => _inner.ReadAsync(offset, destination, cancellationToken);

    public ValueTask WriteAsync(long offset, ReadOnlyMemory<byte> source, CancellationToken cancellationToken = default) => _inner.WriteAsync(offset, source, cancellationToken);

    public ValueTask FlushAsync(CancellationToken cancellationToken = default) => _inner.FlushAsync(cancellationToken);

    public void Dispose() => _inner.Dispose();
}
