namespace Virt.Memory;

/// <summary>
/// A device that serves a memory-mapped I/O window. It sees offsets within its own window only,
/// and only accesses of a width it declares in <see cref="SupportedWidths"/>, naturally aligned
/// within that width; the memory map splits wider or unaligned accesses into supported ones and
/// serves narrower ones by reading (and for writes, merging into) a supported wider access,
/// in little-endian byte order.
/// </summary>
public interface IMmioDevice
{
    /// <summary>The access widths this device handles directly.</summary>
    AccessWidths SupportedWidths { get; }

    /// <summary>Reads <paramref name="sizeInBytes"/> bytes (1, 2, 4 or 8) at <paramref name="offset"/>.</summary>
    /// <param name="offset">The offset within the device's window.</param>
    /// <param name="sizeInBytes">The access size, one of the supported widths.</param>
    /// <returns>The value, zero-extended.</returns>
    ulong Read(RegionOffset offset, int sizeInBytes);

    /// <summary>Writes <paramref name="sizeInBytes"/> bytes (1, 2, 4 or 8) at <paramref name="offset"/>.</summary>
    /// <param name="offset">The offset within the device's window.</param>
    /// <param name="sizeInBytes">The access size, one of the supported widths.</param>
    /// <param name="value">The value; only the low <paramref name="sizeInBytes"/> bytes are meaningful.</param>
    void Write(RegionOffset offset, int sizeInBytes, ulong value);
}
