using Virt.Memory;

namespace Virt.Machine;

/// <summary>Called before a guest write reaches a hooked MMIO address range (<see cref="MachineHooks.AddMmioWriteHook"/>).</summary>
/// <param name="address">The physical address of the access (its first byte).</param>
/// <param name="width">The access width in bytes (1, 2, 4 or 8).</param>
/// <param name="value">The value written; the hook may replace it (its low <paramref name="width"/> bytes are written).</param>
/// <returns>True to let the write through (to the next hook, then the device); false to suppress it.</returns>
public delegate bool MmioWriteHook(PhysicalAddress address, int width, ref ulong value);
