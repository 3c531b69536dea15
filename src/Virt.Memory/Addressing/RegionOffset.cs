using System.Globalization;

namespace Virt.Memory;

/// <summary>
/// A byte offset within one region (a RAM block, a ROM image, an MMIO device's window).
/// Devices only ever see these, never <see cref="PhysicalAddress"/> values, so they do not depend
/// on where the board places them.
/// </summary>
/// <param name="Value">The offset in bytes from the start of the region.</param>
public readonly record struct RegionOffset(ulong Value)
{
    /// <summary>Formats the offset as hexadecimal.</summary>
    /// <returns>The formatted offset, for example <c>+0x10</c>.</returns>
    public override string ToString() => "+0x" + Value.ToString("X", CultureInfo.InvariantCulture);
}
