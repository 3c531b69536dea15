using System.Globalization;
using Virt.Memory;

namespace Virt.Machine.Boot;

/// <summary>One entry of an e820 memory map: a non-empty address range and its type.</summary>
public readonly record struct E820Entry
{
    /// <summary>Creates an entry.</summary>
    /// <param name="start">The first address.</param>
    /// <param name="sizeInBytes">The size in bytes (at least 1, not running past the top of the 64-bit space).</param>
    /// <param name="type">The type.</param>
    /// <exception cref="ArgumentOutOfRangeException">When the size is zero or the range wraps.</exception>
    public E820Entry(PhysicalAddress start, ulong sizeInBytes, E820EntryType type)
    {
        if (sizeInBytes == 0 || sizeInBytes - 1 > ulong.MaxValue - start.Value)
        {
            throw new ArgumentOutOfRangeException(nameof(sizeInBytes), $"e820 entry at {start} of 0x{sizeInBytes:X} bytes is empty or runs past the top of the address space.");
        }

        Start = start;
        SizeInBytes = sizeInBytes;
        Type = type;
    }

    /// <summary>The first address.</summary>
    public PhysicalAddress Start { get; }

    /// <summary>The size in bytes.</summary>
    public ulong SizeInBytes { get; }

    /// <summary>The type.</summary>
    public E820EntryType Type { get; }

    /// <summary>The last address that belongs to the entry (inclusive).</summary>
    public PhysicalAddress LastAddress => Start + (SizeInBytes - 1);

    /// <summary>The entry's range.</summary>
    public AddressRange Range => new(Start, LastAddress);

    /// <summary>Formats the entry as in the Linux boot log, for example <c>[0x00100000..0x0FFFFFFF] Ram</c>.</summary>
    /// <returns>The formatted entry.</returns>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Range} {Type}");
}
