using System.Buffers.Binary;

namespace Virt.Devices;

/// <summary>Opens disk image files as block devices, by format or by probing.</summary>
public static class DiskImage
{
    /// <summary>Opens an image file.</summary>
    /// <param name="path">The image file.</param>
    /// <param name="format">The format; <see cref="DiskImageFormat.Auto"/> probes the file (see its remarks on raw images).</param>
    /// <param name="readOnly">Whether writes are refused (the file is then opened for reading only).</param>
    /// <param name="sectorSize">The sector size: 512, or 2048 for CD media (raw images only; qcow2 images have 512-byte sectors).</param>
    /// <returns>The block device.</returns>
    /// <exception cref="DiskImageFormatException">The image is not valid for its format, naming the file and field.</exception>
    /// <exception cref="IOException">The file cannot be opened.</exception>
    /// <exception cref="ArgumentException">The sector size does not suit the format.</exception>
    public static IBlockDevice Open(string path, DiskImageFormat format = DiskImageFormat.Auto, bool readOnly = true, int sectorSize = 512)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (format == DiskImageFormat.Auto)
        {
            format = Probe(path);
        }

        switch (format)
        {
            case DiskImageFormat.Raw:
                return new RawImageBlockDevice(path, readOnly, sectorSize);
            case DiskImageFormat.Qcow2:
                if (sectorSize != 512)
                {
                    throw new ArgumentException($"'{path}': a qcow2 image has 512-byte sectors, not {sectorSize}.", nameof(sectorSize));
                }

                return Qcow2BlockDevice.Open(path, readOnly);
            default:
                throw new ArgumentOutOfRangeException(nameof(format), format, "Unknown disk image format.");
        }
    }

    /// <summary>Tells a file's format from its first bytes: qcow2 when it starts with the qcow2 magic, raw otherwise.</summary>
    /// <param name="path">The image file.</param>
    /// <returns><see cref="DiskImageFormat.Qcow2"/> or <see cref="DiskImageFormat.Raw"/>.</returns>
    /// <exception cref="IOException">The file cannot be read.</exception>
    public static DiskImageFormat Probe(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        Span<byte> magic = stackalloc byte[4];
        int n = RandomAccess.Read(handle, magic, 0);
        return n == 4 && BinaryPrimitives.ReadUInt32BigEndian(magic) == Qcow2Header.Magic ? DiskImageFormat.Qcow2 : DiskImageFormat.Raw;
    }
}
