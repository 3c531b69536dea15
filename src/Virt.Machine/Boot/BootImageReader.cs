namespace Virt.Machine.Boot;

/// <summary>Reads a whole image from a stream (from its start when seekable), bounded in size.</summary>
internal static class BootImageReader
{
    /// <summary>The largest image any loader accepts (1 GiB); the guest could not hold more below 4 GiB anyway.</summary>
    public const long MaxImageSizeInBytes = 1L << 30;

    public static byte[] ReadAll(Stream stream, string imageName, string parameterName)
    {
        ArgumentNullException.ThrowIfNull(stream, parameterName);
        ArgumentException.ThrowIfNullOrEmpty(imageName);
        if (!stream.CanRead)
        {
            throw new ArgumentException($"The stream of {imageName} is not readable.", parameterName);
        }

        if (stream.CanSeek)
        {
            long length = stream.Length;
            if (length > MaxImageSizeInBytes)
            {
                throw new BootImageException(imageName, "file size", $"0x{length:X} bytes is larger than the 0x{MaxImageSizeInBytes:X} bytes a boot image may have");
            }

            stream.Position = 0;
            byte[] bytes = new byte[length];
            stream.ReadExactly(bytes);
            return bytes;
        }

        using var buffer = new MemoryStream();
        byte[] chunk = new byte[81920];
        int read;
        while ((read = stream.Read(chunk)) > 0)
        {
            buffer.Write(chunk, 0, read);
            if (buffer.Length > MaxImageSizeInBytes)
            {
                throw new BootImageException(imageName, "file size", $"more than the 0x{MaxImageSizeInBytes:X} bytes a boot image may have");
            }
        }

        return buffer.ToArray();
    }
}
