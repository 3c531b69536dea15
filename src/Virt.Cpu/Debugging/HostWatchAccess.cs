namespace Virt.Cpu;

/// <summary>
/// One guest data access that overlapped a host memory watch (<see cref="Cpu.AddHostWatch"/>), reported to
/// <see cref="Cpu.HostWatchHandler"/> after the instruction that made it completed.
/// </summary>
/// <param name="WatchId">The id <see cref="Cpu.AddHostWatch"/> returned.</param>
/// <param name="LinearAddress">The linear address of the access's first byte.</param>
/// <param name="Size">The access's width in bytes (1, 2, 4 or 8).</param>
/// <param name="IsWrite">True for a write, false for a read.</param>
/// <param name="Value">The value written, or the value read (little-endian, <paramref name="Size"/> bytes).</param>
public readonly record struct HostWatchAccess(int WatchId, ulong LinearAddress, int Size, bool IsWrite, ulong Value);
