using System.Globalization;

namespace Virt.Cpu;

/// <summary>
/// An address in the CPU's linear address space: segment base plus offset, before paging (Intel SDM Vol. 3A, 3.1). A
/// distinct type so that a linear address cannot be passed where a <see cref="Virt.Memory.PhysicalAddress"/> is expected;
/// the MMU (<c>Paging/Mmu.cs</c>) is the one place that turns the one into the other. Linear addresses are 32 bits wide
/// outside IA-32e mode; 64 in it, of which 4-level paging translates bits 47:0 (the TLB takes any 64-bit value).
/// </summary>
/// <param name="Value">The linear address.</param>
public readonly record struct LinearAddress(ulong Value)
{
    /// <summary>The linear-address width of 4-level paging: 48 bits (Intel SDM Vol. 3A, 4.5).</summary>
    public const int ImplementedBits = 48;

    /// <summary>
    /// Whether bits 63:47 are all equal, the canonical form of 4-level paging (Intel SDM Vol. 3A, 3.3.7.1). Every address
    /// below 4 GiB is canonical.
    /// </summary>
    public bool IsCanonical => (ulong)(((long)Value << (64 - ImplementedBits)) >> (64 - ImplementedBits)) == Value;

    /// <summary>The 4 KiB page number of this address.</summary>
    public ulong PageNumber => Value >> 12;

    /// <summary>The offset of this address within its 4 KiB page.</summary>
    public int OffsetInPage => (int)(Value & 0xFFF);

    /// <summary>Adds a byte count, wrapping at the top of the 64-bit space.</summary>
    /// <param name="address">The base address.</param>
    /// <param name="bytes">The number of bytes to add.</param>
    /// <returns>The address <paramref name="bytes"/> above <paramref name="address"/>.</returns>
    public static LinearAddress operator +(LinearAddress address, ulong bytes) => new(unchecked(address.Value + bytes));

    /// <summary>Formats the address as hexadecimal, for example <c>0xC0100000</c>.</summary>
    /// <returns>The formatted address.</returns>
    public override string ToString() => "0x" + Value.ToString(Value > uint.MaxValue ? "X16" : "X8", CultureInfo.InvariantCulture);
}
