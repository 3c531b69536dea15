namespace Virt.Memory;

/// <summary>
/// A non-empty range of physical addresses with an inclusive last address, so that a range
/// ending at the top of the 64-bit space (<c>0xFFFF_FFFF_FFFF_FFFF</c>) is representable without overflow.
/// </summary>
public readonly record struct AddressRange
{
    /// <summary>Creates a range from its first and inclusive last address.</summary>
    /// <param name="start">The first address.</param>
    /// <param name="lastAddress">The last address that belongs to the range.</param>
    /// <exception cref="ArgumentOutOfRangeException">When <paramref name="lastAddress"/> is below <paramref name="start"/>.</exception>
    public AddressRange(PhysicalAddress start, PhysicalAddress lastAddress)
    {
        if (lastAddress < start)
        {
            throw new ArgumentOutOfRangeException(nameof(lastAddress), $"Range last address {lastAddress} is below its start {start}.");
        }

        Start = start;
        LastAddress = lastAddress;
    }

    /// <summary>The first address of the range.</summary>
    public PhysicalAddress Start { get; }

    /// <summary>The last address that belongs to the range (inclusive).</summary>
    public PhysicalAddress LastAddress { get; }

    /// <summary>
    /// The number of bytes minus one. (The size of the whole 64-bit space, 2^64, does not fit in a
    /// <see cref="ulong"/>; this never overflows.)
    /// </summary>
    public ulong SizeInBytesMinusOne => LastAddress.Value - Start.Value;

    /// <summary>Creates a range from a start address and a non-zero size.</summary>
    /// <param name="start">The first address.</param>
    /// <param name="sizeInBytes">The size in bytes; must be at least 1 and must not run past the top of the 64-bit space.</param>
    /// <returns>The range.</returns>
    public static AddressRange FromStartAndSize(PhysicalAddress start, ulong sizeInBytes)
    {
        if (sizeInBytes == 0)
        {
            throw new ArgumentOutOfRangeException(nameof(sizeInBytes), $"A range at {start} must have a non-zero size.");
        }

        if (sizeInBytes - 1 > ulong.MaxValue - start.Value)
        {
            throw new ArgumentOutOfRangeException(nameof(sizeInBytes), $"A range at {start} of 0x{sizeInBytes:X} bytes runs past the top of the 64-bit address space.");
        }

        return new AddressRange(start, start + (sizeInBytes - 1));
    }

    /// <summary>Whether <paramref name="address"/> lies within the range.</summary>
    /// <param name="address">The address to test.</param>
    /// <returns>True when inside.</returns>
    public bool Contains(PhysicalAddress address) => address >= Start && address <= LastAddress;

    /// <summary>Whether the two ranges share at least one address.</summary>
    /// <param name="other">The other range.</param>
    /// <returns>True when they intersect.</returns>
    public bool Intersects(AddressRange other) => Start <= other.LastAddress && other.Start <= LastAddress;

    /// <summary>Formats the range as <c>[start..last]</c>.</summary>
    /// <returns>The formatted range.</returns>
    public override string ToString() => $"[{Start}..{LastAddress}]";
}
