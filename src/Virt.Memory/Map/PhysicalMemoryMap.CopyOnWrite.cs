namespace Virt.Memory;

/// <summary>Sharing RAM with a forked map, copy-on-write, for machine forks.</summary>
public sealed partial class PhysicalMemoryMap
{
    /// <summary>
    /// The RAM pages this map copied because they were shared with another map (<see cref="ShareRamInto"/>): the first
    /// write to a shared page copies that page.
    /// </summary>
    public long CopiedOnWritePageCount =>
        _regions.Where(r => r.Kind != MemoryRegionKind.Alias && r.Ram is not null).Sum(r => r.Ram!.CopiedOnWritePageCount);

    /// <summary>The bytes of RAM this map shares with other maps now (pages it has not written since the fork, in chunks another map still holds).</summary>
    public long SharedRamBytes =>
        _regions.Where(r => r.Kind != MemoryRegionKind.Alias && r.Ram is not null).Sum(r => r.Ram!.SharedPageCount) * PageSizeInBytes;

    /// <summary>
    /// Makes <paramref name="target"/>'s RAM (every region of <see cref="RamRegionNames"/>, including the shadow RAM of
    /// shadowable ROMs) the same as this map's without copying it: both maps refer to the same chunks, and the first write
    /// to a page on either side copies it for that side (copy-on-write), so neither map sees the other's writes. The
    /// target's own RAM is dropped. Both maps' cached translations are invalidated (the target's with changed content), so
    /// CPUs drop write pointers into chunks that are now shared. Costs one pass over the chunk index; the maps may then be
    /// used on different threads. Dirty bits are not touched on either side, nor are shadow modes.
    /// </summary>
    /// <param name="target">A map built with the same RAM regions (names and sizes); not this map.</param>
    /// <exception cref="ArgumentException">When the target is this map or its RAM regions differ; nothing is changed then.</exception>
    public void ShareRamInto(PhysicalMemoryMap target)
    {
        ArgumentNullException.ThrowIfNull(target);
        if (target == this)
        {
            throw new ArgumentException("A map cannot share its RAM with itself.", nameof(target));
        }

        IReadOnlyList<string> mine = RamRegionNames;
        IReadOnlyList<string> theirs = target.RamRegionNames;
        for (int i = 0; i < Math.Max(mine.Count, theirs.Count); i++)
        {
            if (i >= mine.Count || i >= theirs.Count || mine[i] != theirs[i] || GetRam(mine[i]).SizeInBytes != target.GetRam(theirs[i]).SizeInBytes)
            {
                throw new ArgumentException(
                    $"The target map's RAM regions ({Describe(target)}) are not this map's ({Describe(this)}).",
                    nameof(target));
            }
        }

        foreach (string name in mine)
        {
            RamBacking source = GetRam(name);
            RamBacking copy = target.GetRam(name);
            source.ShareInto(copy);

            // Write pointers into chunks that are shared now must go on this side; on the target everything changed.
            InvalidateBackingPages(source, 0, (int)Math.Min(source.PageCount, int.MaxValue), contentChanged: false);
            target.InvalidateBackingPages(copy, 0, (int)Math.Min(copy.PageCount, int.MaxValue), contentChanged: true);
        }

        static string Describe(PhysicalMemoryMap map) => string.Join(", ", map.RamRegionNames.Select(n => $"'{n}' {map.GetRam(n).SizeInBytes} bytes"));
    }

    /// <summary>
    /// Lets go of all RAM: every RAM region reads as zeros afterwards, chunks shared with other maps are left to them (so
    /// the last holder writes them without copying). A machine calls this when it is disposed.
    /// </summary>
    public void ReleaseRam()
    {
        foreach (MemoryRegion region in _regions.Where(r => r.Kind != MemoryRegionKind.Alias && r.Ram is not null))
        {
            region.Ram!.Release();
            InvalidateBackingPages(region.Ram, 0, (int)Math.Min(region.Ram.PageCount, int.MaxValue), contentChanged: true);
        }
    }
}
