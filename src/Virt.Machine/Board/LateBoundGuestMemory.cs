using Virt.Memory;

namespace Virt.Machine;

/// <summary>
/// The DMA view handed to devices while the machine is being built: devices are created before the memory map
/// exists (their MMIO windows are part of it), so this forwards to the map once it is built.
/// </summary>
internal sealed class LateBoundGuestMemory : IGuestMemory
{
    private PhysicalMemoryMap? _map;

    public void Bind(PhysicalMemoryMap map) => _map = map;

    public void Read(PhysicalAddress address, Span<byte> destination) => Map.Read(address, destination);

    public void Write(PhysicalAddress address, ReadOnlySpan<byte> source) => Map.Write(address, source);

    private PhysicalMemoryMap Map => _map ?? throw new InvalidOperationException("Guest memory is not available until the machine is built.");
}
