namespace Virt.Memory;

/// <summary>
/// Told by a <see cref="PhysicalMemoryMap"/> when something a CPU may have cached changes. A CPU
/// implements this to keep its software TLB (which holds host pointers) and its decode cache
/// (keyed by physical address) coherent with the map.
/// </summary>
public interface IPhysicalMemoryObserver
{
    /// <summary>
    /// Host pointers obtained from <see cref="PhysicalMemoryMap.TryGetHostPage"/> for pages in
    /// <paramref name="range"/> are no longer valid and must be dropped. When
    /// <paramref name="contentChanged"/> is true, the bytes visible in the range changed too
    /// (a region moved or switched view), so code decoded from it is stale.
    /// </summary>
    /// <param name="range">The affected physical addresses (page-aligned).</param>
    /// <param name="contentChanged">Whether the visible bytes changed.</param>
    void OnTranslationsInvalidated(AddressRange range, bool contentChanged);

    /// <summary>
    /// A write hit a page marked with <see cref="PhysicalMemoryMap.MarkCodePage"/>. Called after
    /// the bytes were written, once for every physical address at which the written bytes are visible.
    /// </summary>
    /// <param name="address">The first physical address written.</param>
    /// <param name="sizeInBytes">The number of bytes written.</param>
    void OnCodeWrite(PhysicalAddress address, int sizeInBytes);
}
