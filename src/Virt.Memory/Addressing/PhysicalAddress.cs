using System.Globalization;

namespace Virt.Memory;

/// <summary>
/// An address in the guest physical address space. A distinct type so that a physical address
/// cannot be passed where an offset within a region (<see cref="RegionOffset"/>) is expected.
/// </summary>
/// <param name="Value">The 64-bit physical address.</param>
public readonly record struct PhysicalAddress(ulong Value) : IComparable<PhysicalAddress>
{
    /// <summary>The 4 KiB page number of this address.</summary>
    public ulong PageNumber => Value >> PhysicalMemoryMap.PageShift;

    /// <summary>The offset of this address within its 4 KiB page.</summary>
    public int OffsetInPage => (int)(Value & PhysicalMemoryMap.PageOffsetMask);

    /// <summary>Adds a byte count, wrapping at the top of the 64-bit space.</summary>
    /// <param name="address">The base address.</param>
    /// <param name="bytes">The number of bytes to add.</param>
    /// <returns>The address <paramref name="bytes"/> above <paramref name="address"/>.</returns>
    public static PhysicalAddress operator +(PhysicalAddress address, ulong bytes) => new(unchecked(address.Value + bytes));

    /// <summary>Subtracts a byte count, wrapping at zero.</summary>
    /// <param name="address">The base address.</param>
    /// <param name="bytes">The number of bytes to subtract.</param>
    /// <returns>The address <paramref name="bytes"/> below <paramref name="address"/>.</returns>
    public static PhysicalAddress operator -(PhysicalAddress address, ulong bytes) => new(unchecked(address.Value - bytes));

    /// <summary>Returns the distance in bytes from <paramref name="origin"/> up to <paramref name="address"/>.</summary>
    /// <param name="address">The higher address.</param>
    /// <param name="origin">The lower address.</param>
    /// <returns>The difference as a byte count.</returns>
    public static ulong operator -(PhysicalAddress address, PhysicalAddress origin) => unchecked(address.Value - origin.Value);

    /// <summary>Compares two addresses.</summary>
    /// <param name="left">Left operand.</param>
    /// <param name="right">Right operand.</param>
    /// <returns>True when left is below right.</returns>
    public static bool operator <(PhysicalAddress left, PhysicalAddress right) => left.Value < right.Value;

    /// <summary>Compares two addresses.</summary>
    /// <param name="left">Left operand.</param>
    /// <param name="right">Right operand.</param>
    /// <returns>True when left is above right.</returns>
    public static bool operator >(PhysicalAddress left, PhysicalAddress right) => left.Value > right.Value;

    /// <summary>Compares two addresses.</summary>
    /// <param name="left">Left operand.</param>
    /// <param name="right">Right operand.</param>
    /// <returns>True when left is at or below right.</returns>
    public static bool operator <=(PhysicalAddress left, PhysicalAddress right) => left.Value <= right.Value;

    /// <summary>Compares two addresses.</summary>
    /// <param name="left">Left operand.</param>
    /// <param name="right">Right operand.</param>
    /// <returns>True when left is at or above right.</returns>
    public static bool operator >=(PhysicalAddress left, PhysicalAddress right) => left.Value >= right.Value;

    /// <inheritdoc />
    public int CompareTo(PhysicalAddress other) => Value.CompareTo(other.Value);

    /// <summary>Formats the address as hexadecimal, for example <c>0x000B8000</c>.</summary>
    /// <returns>The formatted address.</returns>
    public override string ToString() => "0x" + Value.ToString(Value > uint.MaxValue ? "X16" : "X8", CultureInfo.InvariantCulture);
}
