using Virt.Cpu.Decoding;

namespace Virt.Cpu;

/// <summary>
/// When a hot block is worth compiling (docs/performance.md, "Compiled tier", "Invalidation and budget"). Three rules,
/// all counted in guest instructions so that the same guest compiles the same blocks in every run:
/// </summary>
/// <remarks>
/// <list type="bullet">
/// <item>Work, not entries: the compile cost grows with the block's length, the gain with the instructions that run
/// compiled. A block is compiled once the instructions interpreted in it reach the threshold times its length, which for a
/// block run to its end at every entry is the threshold in entries, as before; a block left early at most entries (a fault
/// in its first instruction, as random code does) waits in proportion. The length is that of the part compiled: the
/// instructions the block's interpreted entries reached at most (BlockEmitter.SideExit.cs).</item>
/// <item>Back-off: each time compiled code of a physical page is dropped because its bytes changed (self-modifying code,
/// code generated again in the same place), the work asked of that page's blocks doubles, up to
/// <see cref="MaxBackoffLevel"/> doublings, so code that keeps changing stays interpreted instead of being compiled again
/// and again. The levels live in a direct-mapped table of <see cref="BackoffEntries"/> pages (9 KiB, fixed): a page that
/// loses its slot to another starts afresh, which costs at most a few compiles more.</item>
/// <item>Rate: beyond an allowance of <see cref="CompileAllowanceInstructions"/> compiled instructions, the tier compiles
/// one instruction per <see cref="CpuOptions.CompileRateLimit"/> instructions retired (the allowance refills at that rate
/// up to its size). Compiling costs the runtime's JIT tens of microseconds per instruction (a 64-instruction block of
/// interpreter calls, 4 KiB of IL, took 3-20 ms on the shared 2-core machine), so without it a guest running many
/// distinct blocks a little each spent seconds of host time per 5000 instructions (fuzz guest seed 1087); with it the
/// host time spent compiling stays within about the time spent running, and <c>Run</c> returns in bounded time.</item>
/// </list>
/// </remarks>
internal sealed partial class BlockCompiler
{
    /// <summary>The compiled instructions allowed before the rate limit applies, and the most the allowance refills to.</summary>
    public const long CompileAllowanceInstructions = 4096;

    /// <summary>The slots of the back-off table (a power of two).</summary>
    private const int BackoffEntries = 1024;

    /// <summary>The most doublings of a page's threshold: 2^16 times the work, effectively interpreted for good.</summary>
    private const int MaxBackoffLevel = 16;

    /// <summary>The physical page shift (4 KiB pages).</summary>
    private const int PageShift = 12;

    private readonly int _threshold;
    private readonly int _rateLimit;
    private readonly bool _background;

    /// <summary>Whether invalidated pages back off (false only under the test suite switch, which wants every block compiled).</summary>
    private readonly bool _backoff;

    /// <summary>The back-off table's page tags: page number + 1, 0 for an empty slot.</summary>
    private readonly ulong[] _backoffPages = new ulong[BackoffEntries];

    /// <summary>The back-off table's levels (doublings of the threshold).</summary>
    private readonly byte[] _backoffLevels = new byte[BackoffEntries];

    /// <summary>The compiled instructions allowed now.</summary>
    private long _compileAllowance;

    /// <summary>The retired count up to which the allowance was refilled.</summary>
    private long _allowanceRetiredMark;

    private long _blocksInvalidated;
    private long _compilesDeferred;

    /// <summary>The back-off level of <paramref name="physicalPage"/> (0 when the table does not remember it).</summary>
    public int BackoffLevel(ulong physicalPage)
    {
        int slot = BackoffSlot(physicalPage);
        return _backoffPages[slot] == physicalPage + 1 ? _backoffLevels[slot] : 0;
    }

    /// <summary>
    /// The decode cache dropped <paramref name="block"/> while it had a compiled form (or it changed while the background
    /// thread compiled it): its page backs off one level more.
    /// </summary>
    public void OnCompiledBlockInvalidated(DecodedBlock block)
    {
        _blocksInvalidated++;
        ulong page = block.PhysicalStart >> PageShift;
        int slot = BackoffSlot(page);
        if (_backoffPages[slot] != page + 1)
        {
            _backoffPages[slot] = page + 1;
            _backoffLevels[slot] = 0;
        }

        if (_backoffLevels[slot] < MaxBackoffLevel)
        {
            _backoffLevels[slot]++;
        }
    }

    /// <summary>Whether <paramref name="block"/>, past the hit threshold, is to be compiled now (spending the allowance if so).</summary>
    private bool ShouldCompile(DecodedBlock block)
    {
        // The part that would be compiled: what the entries reached (BlockEmitter.SideExit.cs).
        long count = block.MaxInterpretedRun > 0 ? Math.Min(block.Count, block.MaxInterpretedRun) : block.Count;
        long interpreted = block.InterpretedInstructions;
        if (interpreted < count * _threshold)
        {
            return false;
        }

        int level = _backoff ? BackoffLevel(block.PhysicalStart >> PageShift) : 0;
        if (level != 0 && interpreted < count * ((((long)_threshold + 1) << level) - 1))
        {
            return false;
        }

        if (!TakeAllowance(count))
        {
            _compilesDeferred++;
            return false;
        }

        return true;
    }

    /// <summary>Refills the allowance by the instructions retired since, and takes <paramref name="instructions"/> from it when it holds that many.</summary>
    private bool TakeAllowance(long instructions)
    {
        if (_rateLimit == 0)
        {
            return true;
        }

        long retired = _cpu.RetiredInstructions;
        if (retired < _allowanceRetiredMark)
        {
            // The retired count went back (a snapshot was restored): count from there.
            _allowanceRetiredMark = retired;
        }

        long earned = (retired - _allowanceRetiredMark) / _rateLimit;
        if (earned > 0)
        {
            _compileAllowance += earned;
            _allowanceRetiredMark += earned * _rateLimit;
            if (_compileAllowance >= CompileAllowanceInstructions)
            {
                _compileAllowance = CompileAllowanceInstructions;
                _allowanceRetiredMark = retired;
            }
        }

        if (_compileAllowance < instructions)
        {
            return false;
        }

        _compileAllowance -= instructions;
        return true;
    }

    private static int BackoffSlot(ulong page) => (int)((page ^ (page >> 10) ^ (page >> 20)) & (BackoffEntries - 1));
}
