namespace Virt.Devices;

/// <summary>A rendered screen: RGBA pixels, 4 bytes each, rows top to bottom.</summary>
public sealed class VgaFrame
{
    /// <summary>Creates a frame.</summary>
    /// <param name="width">The width in pixels.</param>
    /// <param name="height">The height in pixels.</param>
    /// <param name="pixels">The RGBA bytes, <c>width * height * 4</c>; the frame takes ownership.</param>
    public VgaFrame(int width, int height, byte[] pixels)
    {
        ArgumentNullException.ThrowIfNull(pixels);
        if (pixels.Length != (long)width * height * 4)
        {
            throw new ArgumentException($"Expected {(long)width * height * 4} bytes for {width}x{height}, got {pixels.Length}.", nameof(pixels));
        }

        Width = width;
        Height = height;
        Pixels = pixels;
    }

    /// <summary>The width in pixels.</summary>
    public int Width { get; }

    /// <summary>The height in pixels.</summary>
    public int Height { get; }

    /// <summary>The RGBA bytes (alpha always FFh).</summary>
    public byte[] Pixels { get; }

    /// <summary>The colour of one pixel as 0xRRGGBB.</summary>
    /// <param name="x">The column.</param>
    /// <param name="y">The row.</param>
    /// <returns>The colour.</returns>
    public int GetPixelRgb(int x, int y)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(x);
        ArgumentOutOfRangeException.ThrowIfNegative(y);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(x, Width);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(y, Height);
        int i = ((y * Width) + x) * 4;
        return (Pixels[i] << 16) | (Pixels[i + 1] << 8) | Pixels[i + 2];
    }

    /// <summary>Writes the frame as a PNG image.</summary>
    /// <param name="destination">The stream.</param>
    public void SavePng(Stream destination) => PngEncoder.WriteRgba(destination, Width, Height, Pixels);
}
