using Virt.Memory;

namespace Virt.Machine.Boot;

/// <summary>
/// Builds and queries e820 memory maps. <see cref="CreatePc"/> derives the map of a standard PC with
/// a given amount of RAM; the Linux and Multiboot loaders take any map (sorted or not, without
/// overlaps) and use its RAM entries to decide where images may go.
/// </summary>
public static class E820Map
{
    /// <summary>The end of the RAM reported below the EBDA (639 KiB), as QEMU and SeaBIOS report it.</summary>
    public const ulong ConventionalRamEnd = 0x9_FC00;

    /// <summary>The end of conventional memory (640 KiB); the VGA window starts here.</summary>
    public const ulong ConventionalMemoryEnd = 0xA_0000;

    /// <summary>The start of the system BIOS area reported as reserved (F0000h).</summary>
    public const ulong SystemBiosStart = 0xF_0000;

    /// <summary>The start of extended memory (1 MiB).</summary>
    public const ulong ExtendedMemoryStart = 0x10_0000;

    /// <summary>
    /// The most RAM placed below 4 GiB by default (3.5 GiB): the i440FX's PCI hole spans from there to
    /// 4 GiB, and RAM beyond it is placed from 4 GiB up. (QEMU's pc machines use the same start; with
    /// 3.5 GiB or more of RAM they lower it to 3 GiB for gigabyte alignment; pass 0xC0000000 to match.)
    /// </summary>
    public const ulong DefaultLowRamLimit = 0xE000_0000;

    /// <summary>4 GiB, where RAM that does not fit below the PCI hole continues.</summary>
    public const ulong FourGigabytes = 0x1_0000_0000;

    /// <summary>
    /// The e820 map of a PC with <paramref name="ramSizeInBytes"/> of RAM: 0-9FBFFh RAM,
    /// 9FC00h-9FFFFh reserved (EBDA), F0000h-FFFFFh reserved (system BIOS), 1 MiB up to the top of low
    /// RAM as RAM, nothing in the PCI hole below 4 GiB (a gap, so the guest may place PCI windows
    /// there), and the rest of the RAM from 4 GiB up. The VGA window and option ROM area
    /// (A0000h-EFFFFh) are a gap, as on real PCs.
    /// </summary>
    /// <param name="ramSizeInBytes">The RAM size; at least 1 MiB and a multiple of 4 KiB.</param>
    /// <param name="lowRamLimitInBytes">The most RAM placed below 4 GiB (where the PCI hole starts).</param>
    /// <returns>The entries, sorted by address.</returns>
    public static IReadOnlyList<E820Entry> CreatePc(ulong ramSizeInBytes, ulong lowRamLimitInBytes = DefaultLowRamLimit)
    {
        (ulong lowTop, ulong highSize) = SplitRam(ramSizeInBytes, lowRamLimitInBytes);
        var entries = new List<E820Entry>
        {
            new(new PhysicalAddress(0), ConventionalRamEnd, E820EntryType.Ram),
            new(new PhysicalAddress(ConventionalRamEnd), ConventionalMemoryEnd - ConventionalRamEnd, E820EntryType.Reserved),
            new(new PhysicalAddress(SystemBiosStart), ExtendedMemoryStart - SystemBiosStart, E820EntryType.Reserved),
        };
        if (lowTop > ExtendedMemoryStart)
        {
            entries.Add(new E820Entry(new PhysicalAddress(ExtendedMemoryStart), lowTop - ExtendedMemoryStart, E820EntryType.Ram));
        }

        if (highSize > 0)
        {
            entries.Add(new E820Entry(new PhysicalAddress(FourGigabytes), highSize, E820EntryType.Ram));
        }

        return entries;
    }

    /// <summary>
    /// The RAM the machine maps for the same layout as <see cref="CreatePc"/>: 0-9FFFFh (the EBDA is RAM
    /// reported as reserved), 1 MiB up to the top of low RAM, and the rest from 4 GiB up. The 384 KiB
    /// between 640 KiB and 1 MiB are taken by the VGA window and ROMs, as on a PC.
    /// </summary>
    /// <param name="ramSizeInBytes">The RAM size; at least 1 MiB and a multiple of 4 KiB.</param>
    /// <param name="lowRamLimitInBytes">The most RAM placed below 4 GiB.</param>
    /// <returns>The RAM ranges, sorted by address.</returns>
    public static IReadOnlyList<AddressRange> CreatePcRamRanges(ulong ramSizeInBytes, ulong lowRamLimitInBytes = DefaultLowRamLimit)
    {
        (ulong lowTop, ulong highSize) = SplitRam(ramSizeInBytes, lowRamLimitInBytes);
        var ranges = new List<AddressRange> { AddressRange.FromStartAndSize(new PhysicalAddress(0), ConventionalMemoryEnd) };
        if (lowTop > ExtendedMemoryStart)
        {
            ranges.Add(AddressRange.FromStartAndSize(new PhysicalAddress(ExtendedMemoryStart), lowTop - ExtendedMemoryStart));
        }

        if (highSize > 0)
        {
            ranges.Add(AddressRange.FromStartAndSize(new PhysicalAddress(FourGigabytes), highSize));
        }

        return ranges;
    }

    /// <summary>
    /// The e820 entry of type <see cref="E820EntryType.Ram"/> that contains <paramref name="address"/>, if any.
    /// Adjacent RAM entries are not merged.
    /// </summary>
    /// <param name="map">The map.</param>
    /// <param name="address">The address.</param>
    /// <returns>The entry, or null.</returns>
    public static E820Entry? FindRam(IReadOnlyList<E820Entry> map, PhysicalAddress address)
    {
        ArgumentNullException.ThrowIfNull(map);
        foreach (E820Entry entry in map)
        {
            if (entry.Type == E820EntryType.Ram && entry.Range.Contains(address))
            {
                return entry;
            }
        }

        return null;
    }

    /// <summary>Checks that the entries do not overlap (host misconfiguration otherwise).</summary>
    /// <param name="map">The map.</param>
    /// <param name="parameterName">The parameter name for the exception.</param>
    /// <returns>The entries sorted by start address.</returns>
    /// <exception cref="ArgumentException">When two entries overlap or the map is empty.</exception>
    internal static E820Entry[] Validate(IReadOnlyList<E820Entry> map, string parameterName)
    {
        ArgumentNullException.ThrowIfNull(map, parameterName);
        E820Entry[] sorted = [.. map.OrderBy(e => e.Start.Value)];
        if (!sorted.Any(e => e.Type == E820EntryType.Ram))
        {
            throw new ArgumentException("The e820 memory map has no RAM entry.", parameterName);
        }

        for (int i = 1; i < sorted.Length; i++)
        {
            if (sorted[i].Start <= sorted[i - 1].LastAddress)
            {
                throw new ArgumentException($"e820 entries {sorted[i - 1]} and {sorted[i]} overlap.", parameterName);
            }
        }

        return sorted;
    }

    /// <summary>Whether <paramref name="range"/> lies entirely within one RAM entry.</summary>
    internal static bool IsWithinRam(IReadOnlyList<E820Entry> map, AddressRange range)
    {
        E820Entry? entry = FindRam(map, range.Start);
        return entry is not null && range.LastAddress <= entry.Value.LastAddress;
    }

    private static (ulong LowTop, ulong HighSize) SplitRam(ulong ramSizeInBytes, ulong lowRamLimitInBytes)
    {
        if (ramSizeInBytes < ExtendedMemoryStart || (ramSizeInBytes & 0xFFF) != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(ramSizeInBytes), $"RAM size 0x{ramSizeInBytes:X} must be at least 1 MiB and a multiple of 4 KiB.");
        }

        if (lowRamLimitInBytes < ExtendedMemoryStart || lowRamLimitInBytes > FourGigabytes || (lowRamLimitInBytes & 0xFFF) != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(lowRamLimitInBytes), $"Low RAM limit 0x{lowRamLimitInBytes:X} must be a multiple of 4 KiB between 1 MiB and 4 GiB.");
        }

        ulong lowTop = Math.Min(ramSizeInBytes, lowRamLimitInBytes);
        return (lowTop, ramSizeInBytes - lowTop);
    }
}
