using System.Buffers.Binary;
using Virt.Devices;

namespace Virt.Run;

/// <summary>
/// A raw image whose format was guessed by probing: the guest may write anything except an image header in sector 0, which
/// would make the next probe read the file as a qcow2 image, with a backing file of the guest's choosing. QEMU guards
/// probed raw images the same way. Such a write fails with an <see cref="IOException"/>, which the controller reports to
/// the guest as a device error.
/// </summary>
public sealed class ProbedRawImageGuard : IBlockDevice
{
    /// <summary>The qcow2 magic, "QFI" and FBh, big-endian at offset 0 (the qcow2 specification, header).</summary>
    private const uint Qcow2Magic = 0x514649FB;

    private readonly IBlockDevice _image;

    /// <summary>Wraps a raw image.</summary>
    /// <param name="image">The image (disposed with the guard).</param>
    public ProbedRawImageGuard(IBlockDevice image)
    {
        _image = image ?? throw new ArgumentNullException(nameof(image));
    }

    /// <inheritdoc/>
    public string Name => _image.Name;

    /// <inheritdoc/>
    public int SectorSize => _image.SectorSize;

    /// <inheritdoc/>
    public long CapacityInBytes => _image.CapacityInBytes;

    /// <inheritdoc/>
    public bool IsReadOnly => _image.IsReadOnly;

    /// <inheritdoc/>
    public void Read(long offset, Span<byte> destination) => _image.Read(offset, destination);

    /// <inheritdoc/>
    public void Write(long offset, ReadOnlySpan<byte> source)
    {
        Check(offset, source);
        _image.Write(offset, source);
    }

    /// <inheritdoc/>
    public void Flush() => _image.Flush();

    /// <inheritdoc/>
    public ValueTask ReadAsync(long offset, Memory<byte> destination, CancellationToken cancellationToken = default) =>
        _image.ReadAsync(offset, destination, cancellationToken);

    /// <inheritdoc/>
    public ValueTask WriteAsync(long offset, ReadOnlyMemory<byte> source, CancellationToken cancellationToken = default)
    {
        Check(offset, source.Span);
        return _image.WriteAsync(offset, source, cancellationToken);
    }

    /// <inheritdoc/>
    public ValueTask FlushAsync(CancellationToken cancellationToken = default) => _image.FlushAsync(cancellationToken);

    /// <inheritdoc/>
    public void Dispose() => _image.Dispose();

    /// <summary>Refuses a write that puts the qcow2 magic at the start of the image.</summary>
    private void Check(long offset, ReadOnlySpan<byte> source)
    {
        if (offset == 0 && source.Length >= sizeof(uint) && BinaryPrimitives.ReadUInt32BigEndian(source) == Qcow2Magic)
        {
            throw new IOException($"'{Name}': the format was probed as raw, and this write to sector 0 would make the image look like a qcow2 image; give the format to allow it.");
        }
    }
}
