using System.Buffers.Binary;

namespace Virt.Machine.Boot;

/// <summary>
/// Tells which loader a <c>-kernel</c> file needs, in QEMU's order: a Linux setup header first (a
/// bzImage that also carries a Multiboot header boots as Linux), then a Multiboot header.
/// </summary>
public static class KernelImageProbe
{
    /// <summary>How many leading bytes <see cref="Detect(ReadOnlySpan{byte})"/> looks at (the Multiboot search window).</summary>
    public const int ProbeSizeInBytes = MultibootHeader.SearchLimitInBytes;

    /// <summary>Classifies an image from its first <see cref="ProbeSizeInBytes"/> bytes (more are ignored).</summary>
    /// <param name="imageStart">The start of the image.</param>
    /// <returns>The format; the loader still validates the rest.</returns>
    public static KernelImageFormat Detect(ReadOnlySpan<byte> imageStart)
    {
        if (imageStart.Length >= 0x206 && BinaryPrimitives.ReadUInt32LittleEndian(imageStart[0x202..]) == BootParamsLayout.HeaderMagic)
        {
            return KernelImageFormat.LinuxBzImage;
        }

        return MultibootHeader.TryFind(imageStart, out _) is not null ? KernelImageFormat.Multiboot : KernelImageFormat.Unknown;
    }

    /// <summary>Classifies the image in a seekable stream, reading its first bytes and restoring the position.</summary>
    /// <param name="image">The image stream; must be seekable.</param>
    /// <returns>The format.</returns>
    public static KernelImageFormat Detect(Stream image)
    {
        ArgumentNullException.ThrowIfNull(image);
        if (!image.CanSeek)
        {
            throw new ArgumentException("The kernel stream must be seekable to probe its format.", nameof(image));
        }

        long position = image.Position;
        byte[] buffer = new byte[ProbeSizeInBytes];
        image.Position = 0;
        int length = image.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false);
        image.Position = position;
        return Detect(buffer.AsSpan(0, length));
    }
}
