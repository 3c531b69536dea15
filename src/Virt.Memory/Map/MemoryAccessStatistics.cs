namespace Virt.Memory;

/// <summary>Counters of memory accesses that did not reach RAM as asked. Guest misbehaviour is counted, never thrown.</summary>
public sealed class MemoryAccessStatistics
{
    internal long UnmappedReadCount;
    internal long UnmappedWriteCount;
    internal long IgnoredRomWriteCount;
    internal long UnsupportedWidthCount;

    /// <summary>Byte reads of unmapped addresses (served as FFh).</summary>
    public long UnmappedReads => Volatile.Read(ref UnmappedReadCount);

    /// <summary>Byte writes to unmapped addresses (ignored).</summary>
    public long UnmappedWrites => Volatile.Read(ref UnmappedWriteCount);

    /// <summary>Writes to ROM (ignored), counted once per access.</summary>
    public long IgnoredRomWrites => Volatile.Read(ref IgnoredRomWriteCount);

    /// <summary>Byte accesses an MMIO device could not take at any width (reads give FFh, writes are dropped).</summary>
    public long UnsupportedWidthAccesses => Volatile.Read(ref UnsupportedWidthCount);
}
