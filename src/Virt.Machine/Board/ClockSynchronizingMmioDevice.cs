using Virt.Memory;

namespace Virt.Machine;

/// <summary>
/// An MMIO device whose registers depend on the time (the local APIC's current count, the HPET's main counter): before
/// each access the machine brings its clock up to the CPU, as it does before port I/O, so a polling loop sees time move.
/// </summary>
internal sealed class ClockSynchronizingMmioDevice(IMmioDevice inner) : IMmioDevice
{
    /// <summary>What to run before each access (the machine's clock catch-up); null before the machine exists.</summary>
    public Action? BeforeAccess { get; set; }

    public AccessWidths SupportedWidths => inner.SupportedWidths;

    public ulong Read(RegionOffset offset, int sizeInBytes)
    {
        BeforeAccess?.Invoke();
        return inner.Read(offset, sizeInBytes);
    }

    public void Write(RegionOffset offset, int sizeInBytes, ulong value)
    {
        BeforeAccess?.Invoke();
        inner.Write(offset, sizeInBytes, value);
    }
}
