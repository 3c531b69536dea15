namespace Virt.Cpu;

/// <summary>
/// A segment register: the visible selector and the hidden descriptor cache (Intel SDM Vol. 3A, 3.4.3).
/// In real mode loading a selector sets <see cref="Base"/> to selector * 16 and leaves limit and attributes alone.
/// </summary>
/// <param name="Selector">The visible 16-bit selector.</param>
/// <param name="Base">The cached linear base address.</param>
/// <param name="Limit">The cached limit (the last valid offset, byte granular after scaling).</param>
/// <param name="Attributes">The cached descriptor attributes (type, S, DPL, P, AVL, L, D/B, G) in descriptor bits 8-23 order, shifted down by 8.</param>
public readonly record struct SegmentState(ushort Selector, ulong Base, uint Limit, ushort Attributes)
{
    /// <summary>The D/B bit in <see cref="Attributes"/>: 32-bit code segment or 32-bit stack.</summary>
    public const ushort DefaultBigBit = 1 << 14;

    /// <summary>The L bit in <see cref="Attributes"/>: a 64-bit code segment (Intel SDM Vol. 3A, 3.4.5).</summary>
    public const ushort LongModeBit = 1 << 13;

    /// <summary>The segment state a real-mode load of <paramref name="selector"/> gives with the architectural reset limit and attributes.</summary>
    /// <param name="selector">The selector.</param>
    /// <returns>Base selector * 16, limit FFFFh, present read/write data attributes.</returns>
    public static SegmentState RealMode(ushort selector) => new(selector, (ulong)selector << 4, 0xFFFF, 0x93);

    /// <summary>
    /// The descriptor cache a protected-mode load of a code or data descriptor gives (Intel SDM Vol. 3A, 3.4.5): base from
    /// bits 16-39 and 56-63, limit from bits 0-15 and 48-51 scaled by the granularity bit, attributes from bits 40-55.
    /// </summary>
    /// <param name="selector">The selector.</param>
    /// <param name="descriptor">The 8-byte descriptor as stored in the table.</param>
    /// <returns>The segment state.</returns>
    public static SegmentState FromDescriptor(ushort selector, ulong descriptor)
    {
        uint baseAddress = (uint)((descriptor >> 16) & 0xFFFFFF) | (uint)((descriptor >> 32) & 0xFF000000);
        uint limit = (uint)(descriptor & 0xFFFF) | (uint)((descriptor >> 32) & 0xF0000);
        if ((descriptor & (1UL << 55)) != 0)
        {
            limit = (limit << 12) | 0xFFF;
        }

        return new SegmentState(selector, baseAddress, limit, (ushort)((descriptor >> 40) & 0xF0FF));
    }
}
