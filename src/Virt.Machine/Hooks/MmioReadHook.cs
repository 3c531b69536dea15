using Virt.Memory;

namespace Virt.Machine;

/// <summary>Called after a device answered a read of a hooked MMIO address range (<see cref="MachineHooks.AddMmioReadHook"/>).</summary>
/// <param name="address">The physical address of the access (its first byte).</param>
/// <param name="width">The access width in bytes (1, 2, 4 or 8).</param>
/// <param name="value">The value the device returned (or the previous hook's replacement).</param>
/// <returns>The value the guest receives (its low <paramref name="width"/> bytes): return <paramref name="value"/> to observe only.</returns>
public delegate ulong MmioReadHook(PhysicalAddress address, int width, ulong value);
