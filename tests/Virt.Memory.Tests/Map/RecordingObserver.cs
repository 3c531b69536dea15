using Virt.Memory;
using Xunit;

namespace Virt.Memory.Tests.Map;

/// <summary>Records what a memory map tells its observers.</summary>
public sealed class RecordingObserver : IPhysicalMemoryObserver
{
    public List<(AddressRange Range, bool ContentChanged)> Invalidations { get; } = [];

    public List<(PhysicalAddress Address, int Size)> CodeWrites { get; } = [];

    public void OnTranslationsInvalidated(AddressRange range, bool contentChanged) => Invalidations.Add((range, contentChanged));

    public void OnCodeWrite(PhysicalAddress address, int sizeInBytes) => CodeWrites.Add((address, sizeInBytes));
}
