using System.Buffers.Binary;
using System.IO.Compression;

namespace Virt.Devices;

/// <summary>
/// Writes truecolour PNG images (W3C PNG specification, 2nd edition): signature, IHDR, one IDAT with the
/// zlib stream of unfiltered scan lines, IEND. No dependency beyond <see cref="ZLibStream"/>.
/// </summary>
public static class PngEncoder
{
    private static ReadOnlySpan<byte> Signature => [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A];

    /// <summary>Writes an RGBA image (4 bytes a pixel, rows top to bottom) as an 8-bit RGB PNG; alpha is dropped.</summary>
    /// <param name="destination">The stream to write to.</param>
    /// <param name="width">The width in pixels.</param>
    /// <param name="height">The height in pixels.</param>
    /// <param name="rgba">The pixels, <c>width * height * 4</c> bytes.</param>
    /// <exception cref="ArgumentOutOfRangeException">When a dimension is not positive.</exception>
    /// <exception cref="ArgumentException">When <paramref name="rgba"/> has the wrong length.</exception>
    public static void WriteRgba(Stream destination, int width, int height, ReadOnlySpan<byte> rgba)
    {
        ArgumentNullException.ThrowIfNull(destination);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(width);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(height);
        if (rgba.Length != (long)width * height * 4)
        {
            throw new ArgumentException($"Expected {(long)width * height * 4} bytes of RGBA for {width}x{height}, got {rgba.Length}.", nameof(rgba));
        }

        destination.Write(Signature);
        Span<byte> header = stackalloc byte[13];
        BinaryPrimitives.WriteInt32BigEndian(header, width);
        BinaryPrimitives.WriteInt32BigEndian(header[4..], height);
        header[8] = 8;  // bit depth
        header[9] = 2;  // colour type: truecolour (RGB)
        header[10] = 0; // compression: deflate
        header[11] = 0; // filter method 0
        header[12] = 0; // no interlace
        WriteChunk(destination, "IHDR"u8, header);

        using var compressed = new MemoryStream();
        using (var zlib = new ZLibStream(compressed, CompressionLevel.Fastest, leaveOpen: true))
        {
            byte[] line = new byte[1 + (width * 3)]; // filter type 0 (None) then RGB
            for (int y = 0; y < height; y++)
            {
                ReadOnlySpan<byte> source = rgba.Slice(y * width * 4, width * 4);
                for (int x = 0; x < width; x++)
                {
                    line[1 + (x * 3)] = source[x * 4];
                    line[2 + (x * 3)] = source[(x * 4) + 1];
                    line[3 + (x * 3)] = source[(x * 4) + 2];
                }

                zlib.Write(line);
            }
        }

        WriteChunk(destination, "IDAT"u8, compressed.GetBuffer().AsSpan(0, (int)compressed.Length));
        WriteChunk(destination, "IEND"u8, []);
    }

    private static void WriteChunk(Stream destination, ReadOnlySpan<byte> type, ReadOnlySpan<byte> data)
    {
        Span<byte> word = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(word, data.Length);
        destination.Write(word);
        destination.Write(type);
        destination.Write(data);
        uint crc = ~Crc32.Update(Crc32.Update(0xFFFFFFFFu, type), data);
        BinaryPrimitives.WriteUInt32BigEndian(word, crc);
        destination.Write(word);
    }
}
