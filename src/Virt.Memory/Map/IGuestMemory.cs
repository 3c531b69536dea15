namespace Virt.Memory;

/// <summary>
/// The consumer view of guest physical memory that devices use for DMA. Reads and writes go
/// through the memory map exactly as CPU accesses do: MMIO windows are dispatched to their
/// devices, unmapped holes read as all ones and ignore writes, ROM ignores writes, and writes
/// to RAM mark pages dirty and invalidate decoded code.
/// </summary>
public interface IGuestMemory
{
    /// <summary>Copies guest memory starting at <paramref name="address"/> into <paramref name="destination"/>.</summary>
    /// <param name="address">The first guest physical address.</param>
    /// <param name="destination">The buffer to fill.</param>
    void Read(PhysicalAddress address, Span<byte> destination);

    /// <summary>Copies <paramref name="source"/> into guest memory starting at <paramref name="address"/>.</summary>
    /// <param name="address">The first guest physical address.</param>
    /// <param name="source">The bytes to write.</param>
    void Write(PhysicalAddress address, ReadOnlySpan<byte> source);
}
