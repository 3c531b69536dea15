using Virt.Memory;

namespace Virt.Machine;

/// <summary>
/// Guest memory that keeps nothing (writes vanish, reads give zeros), for the builder's dry runs of boot loaders: the
/// loaders check everything before writing, so a dry run finds a corrupt image without allocating guest RAM.
/// </summary>
internal sealed class DiscardingGuestMemory : IGuestMemory
{
    public void Read(PhysicalAddress address, Span<byte> destination) => destination.Clear();

    public void Write(PhysicalAddress address, ReadOnlySpan<byte> source)
    {
    }
}
