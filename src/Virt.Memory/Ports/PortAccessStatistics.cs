namespace Virt.Memory;

/// <summary>Counters of port accesses that no device served as asked. Guest misbehaviour is counted, never thrown.</summary>
public sealed class PortAccessStatistics
{
    internal long UnmappedReadCount;
    internal long UnmappedWriteCount;
    internal long IgnoredNarrowWriteCount;

    /// <summary>Reads of ports no device registered (they return all ones).</summary>
    public long UnmappedReads => Volatile.Read(ref UnmappedReadCount);

    /// <summary>Writes to ports no device registered (ignored).</summary>
    public long UnmappedWrites => Volatile.Read(ref UnmappedWriteCount);

    /// <summary>Writes narrower than any width the device supports (ignored).</summary>
    public long IgnoredNarrowWrites => Volatile.Read(ref IgnoredNarrowWriteCount);
}
