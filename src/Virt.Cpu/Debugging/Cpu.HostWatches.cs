using System.Runtime.CompilerServices;

namespace Virt.Cpu;

/// <summary>
/// Host (debugger) memory watches: linear ranges whose data reads and/or writes by guest instructions are reported to
/// <see cref="HostWatchHandler"/> after the instruction completes, as an x86 data breakpoint's trap would be, but invisible to
/// the guest: no DR6 bits, no #DB, no limit of four.
/// </summary>
/// <remarks>
/// <para>
/// Cost when none is set: nothing. The checks ride the guest's data-breakpoint machinery: a watched page is never cached in
/// the software TLB, so every access to it takes the slow memory path, which compares it with the ranges; a watch keeps
/// <c>_debugSlowPath</c> set so the run loop executes one instruction per iteration and reports hits after each.
/// </para>
/// <para>
/// Covered: data accesses through the CPU's linear memory paths (MOV, ALU with memory operands, PUSH/POP, string
/// instructions, descriptor-table and stack accesses of interrupt delivery). Not covered: instruction fetches, page-table
/// walks, device/DMA accesses, and writes the host makes through the memory map. An instruction that faults reports nothing.
/// A page-crossing access is reported once, whole.
/// </para>
/// </remarks>
public sealed partial class Cpu
{
    private const int HostWatchReads = 1;
    private const int HostWatchWrites = 2;

    // Registered watches (parallel lists; few entries, linear scan).
    private readonly List<(int Id, ulong Start, ulong Last, int Kinds)> _hostWatches = [];
    private bool _hostWatchesArmed;
    private int _nextHostWatchId = 1;

    // Hits of the current instruction, reported after it completes.
    private HostWatchAccess[] _hostWatchHits = new HostWatchAccess[4];
    private int _hostWatchHitCount;

    /// <summary>
    /// Called after an instruction whose data accesses overlapped a host watch, once per access and watch, in access order.
    /// Returns true to make <see cref="Run"/> return <see cref="StopReason.Watchpoint"/> (the instruction has completed).
    /// Guest state may be read and changed from it.
    /// </summary>
    public Func<HostWatchAccess, bool>? HostWatchHandler { get; set; }

    /// <summary>
    /// Adds a host memory watch on the linear range <paramref name="linearStart"/> .. + <paramref name="lengthInBytes"/> - 1.
    /// </summary>
    /// <param name="linearStart">The first linear address.</param>
    /// <param name="lengthInBytes">The length (at least 1).</param>
    /// <param name="reads">Report reads.</param>
    /// <param name="writes">Report writes.</param>
    /// <returns>The watch's id, for <see cref="RemoveHostWatch"/> and <see cref="HostWatchAccess.WatchId"/>.</returns>
    public int AddHostWatch(ulong linearStart, ulong lengthInBytes, bool reads, bool writes)
    {
        ArgumentOutOfRangeException.ThrowIfZero(lengthInBytes);
        if (linearStart > uint.MaxValue || lengthInBytes - 1 > uint.MaxValue - linearStart)
        {
            throw new ArgumentOutOfRangeException(nameof(lengthInBytes), lengthInBytes, $"The range from {linearStart:X}h must end within the 4 GiB linear space.");
        }

        if (!reads && !writes)
        {
            throw new ArgumentException("A watch must report reads, writes or both.", nameof(reads));
        }

        int id = _nextHostWatchId++;
        _hostWatches.Add((id, linearStart, linearStart + lengthInBytes - 1, (reads ? HostWatchReads : 0) | (writes ? HostWatchWrites : 0)));
        UpdateHostWatches();
        return id;
    }

    /// <summary>Removes a host memory watch.</summary>
    /// <param name="id">The id <see cref="AddHostWatch"/> returned.</param>
    /// <returns>False when no watch has that id.</returns>
    public bool RemoveHostWatch(int id)
    {
        int index = _hostWatches.FindIndex(w => w.Id == id);
        if (index < 0)
        {
            return false;
        }

        _hostWatches.RemoveAt(index);
        UpdateHostWatches();
        return true;
    }

    private void UpdateHostWatches()
    {
        _hostWatchesArmed = _hostWatches.Count != 0;
        if (!_hostWatchesArmed)
        {
            _hostWatchHitCount = 0;
        }

        // Recomputes _debugSlowPath and flushes the TLB so newly watched pages are no longer cached.
        RecomputeBreakpoints();
    }

    /// <summary>Whether a watch covers any byte of the page holding <paramref name="linear"/> (then the page must not be cached).</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private bool HostWatchOnPage(ulong linear)
    {
        ulong page = linear >> PageShift;
        foreach ((int _, ulong start, ulong last, int _) in _hostWatches)
        {
            if ((start >> PageShift) <= page && page <= (last >> PageShift))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>A completed data access on the slow path: records a hit for each watch it overlaps, and ends the block.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void RecordHostWatchAccess(ulong linear, int size, bool write, ulong value)
    {
        ulong last = linear + (ulong)size - 1;
        int kind = write ? HostWatchWrites : HostWatchReads;
        foreach ((int id, ulong start, ulong end, int kinds) in _hostWatches)
        {
            if ((kinds & kind) == 0 || last < start || linear > end)
            {
                continue;
            }

            if (_hostWatchHitCount == _hostWatchHits.Length)
            {
                Array.Resize(ref _hostWatchHits, _hostWatchHits.Length * 2);
            }

            _hostWatchHits[_hostWatchHitCount++] = new HostWatchAccess(id, linear, size, write, value);
            _exitBlock = true;
        }
    }

    /// <summary>After an instruction while watches are set: reports its hits.</summary>
    /// <returns>Whether the handler asked to stop.</returns>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private bool ReportHostWatchHits()
    {
        int count = _hostWatchHitCount;
        if (count == 0)
        {
            return false;
        }

        _hostWatchHitCount = 0;
        Func<HostWatchAccess, bool>? handler = HostWatchHandler;
        if (handler is null)
        {
            return false;
        }

        // Copied first: the handler may access memory through the CPU or change the watches.
        HostWatchAccess[] hits = _hostWatchHits[..count];
        bool stop = false;
        foreach (HostWatchAccess hit in hits)
        {
            stop |= handler(hit);
        }

        return stop;
    }
}
