namespace Virt.Memory;

/// <summary>
/// Sees every access a <see cref="PhysicalMemoryMap"/> dispatches to an MMIO region (<see cref="PhysicalMemoryMap.MmioInterceptor"/>),
/// as the CPU or a DMA master made it (before the map splits or merges it for the device's widths), and may change it:
/// a host's hooks (a harness) sit here. RAM and ROM accesses never reach it.
/// </summary>
public interface IMmioAccessInterceptor
{
    /// <summary>Called after the device answered a read.</summary>
    /// <param name="region">The name of the MMIO region.</param>
    /// <param name="address">The physical address read (after the A20 gate).</param>
    /// <param name="sizeInBytes">1, 2, 4 or 8.</param>
    /// <param name="value">The value the device returned.</param>
    /// <returns>The value the reader receives (the map keeps its low <paramref name="sizeInBytes"/> bytes).</returns>
    ulong AfterRead(string region, PhysicalAddress address, int sizeInBytes, ulong value);

    /// <summary>Called before a write reaches the device.</summary>
    /// <param name="region">The name of the MMIO region.</param>
    /// <param name="address">The physical address written (after the A20 gate).</param>
    /// <param name="sizeInBytes">1, 2, 4 or 8.</param>
    /// <param name="value">The value written; the interceptor may replace it.</param>
    /// <returns>True to let the write reach the device; false to suppress it.</returns>
    bool BeforeWrite(string region, PhysicalAddress address, int sizeInBytes, ref ulong value);
}
