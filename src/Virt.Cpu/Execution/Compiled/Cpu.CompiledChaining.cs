using System.Runtime.CompilerServices;
using Virt.Cpu.Decoding;

namespace Virt.Cpu;

/// <summary>
/// Chaining of compiled blocks: a compiled block that ends in a direct branch or falls through goes on into its compiled
/// successor in a loop here, without returning to the run loop, as long as the run loop would have done nothing between
/// the two blocks but fetch the successor (see docs/performance.md, "Compiled tier").
/// </summary>
/// <remarks>
/// <para>
/// The test before each chained block is the run loop's own, in the same order and with the same effects: no shutdown,
/// stop request, halt, pending NMI, interrupt shadow (STI, MOV SS), budget's end, debug path (TF, RF, breakpoints,
/// watches, pending debug traps) or host hook; a maskable interrupt is not pending when IF is set (the controller's
/// INTR line is read once, as Cpu.CheckInterrupts reads it once when it takes nothing); the successor is the one the run
/// loop's FetchBlock would find through the previous block's successor links (same translation epoch, linear address,
/// code size, still valid), it is compiled, lies within CS.limit, and fits in the budget whole. Anything else returns to
/// the run loop, which then does exactly what it would have done without chaining.
/// </para>
/// <para>
/// The successor is reached through its entry slot each time (<see cref="DecodedBlock.CompiledEntry"/> and
/// <see cref="DecodedBlock.Valid"/>), never through a link made at compile time, so code overwritten, remapped or evicted is
/// never entered. The chain is a loop, so a guest loop chained to itself does not grow the host stack.
/// </para>
/// <para>
/// The retired count stays exact at every block boundary: each chained block's count is added to the retired total before
/// the next one runs (RDTSC without a time source, exception hooks and the shutdown report read it), and the run loop
/// takes the total the chain retired from its budget (<see cref="TakeChainedRetired"/>). A fault in a chained block
/// returns to the run loop with the exit flag set, which delivers it as it would after an unchained block.
/// </para>
/// </remarks>
public sealed partial class Cpu
{
    /// <summary>Instructions retired by the blocks a chain ran before its last one (already in <see cref="_retired"/>), for the run loop's budget.</summary>
    private long _chainedRetired;

    /// <summary>How many blocks were entered through a chain rather than from the run loop (a test and diagnostic counter).</summary>
    internal long ChainedBlockEntries { get; private set; }

    /// <summary>Whether compiled blocks chain into their compiled successors (true; tests turn it off to compare).</summary>
    internal bool ChainCompiledBlocks { get; set; } = true;

    /// <summary>
    /// Runs a compiled block, then as long as the run loop would go straight on into a compiled successor, that successor.
    /// </summary>
    /// <returns>The instructions started by the last block run (the earlier blocks' are in <see cref="_chainedRetired"/>).</returns>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private int RunCompiledChain(CompiledBlock compiled, DecodedBlock block, int count)
    {
        BlockCompiler compiler = _blockCompiler!;

        // A block run alone or cut short (single-step, TF, RF, breakpoints, the budget's end) goes back to the run loop,
        // which delivers the traps it owes after it. Tested before the block runs: the block may clear TF.
        bool chain = ChainCompiledBlocks && count >= block.Count && ((_ctx.Eflags & (EflagsBits.Tf | EflagsBits.Rf)) == 0) && !_debugSlowPath;
        compiler.CompiledEntries++;
        _compiledLoopAllowed = chain;
        int executed = compiled.Code(block, count);
        if (!chain)
        {
            return executed;
        }

        long chained = 0;

        // The exit flag clear means the block ended in a direct branch (taken or not) or ran to its end with nothing to
        // report: a fault, a code write, a mode change or a stop request all set it.
        while (!_exitBlock)
        {
            // The run loop's bookkeeping between two blocks (Cpu.RunLoop): the retired count first, as the interrupt
            // controller may read it (a deterministic machine's virtual time).
            long retiredNow = executed + _extraRetired;
            long remaining = _budgetLeft - retiredNow;
            _retired += retiredNow;
            DecodedBlock? next = ChainSuccessor(remaining, out CompiledBlock? nextCompiled);
            if (next is null)
            {
                // The run loop counts the last block itself.
                _retired -= retiredNow;
                break;
            }

            chained += retiredNow;
            _budgetLeft = remaining;
            _extraRetired = 0;
            next.HitCount++;
            compiler.CompiledEntries++;
            ChainedBlockEntries++;
            executed = nextCompiled!.Code(next, next.Count);
        }

        // Added to what self-loops inside the blocks' methods counted already (Cpu.CompiledLoop.cs).
        _chainedRetired += chained;
        return executed;
    }

    /// <summary>The instructions the last chain retired before its last block (added to the retired count already), cleared.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private long TakeChainedRetired()
    {
        long chained = _chainedRetired;
        _chainedRetired = 0;
        return chained;
    }

    /// <summary>
    /// The compiled block the run loop would run next with nothing else happening first, or null when the run loop has
    /// something to do (see the remarks of this file) or the next block is not a compiled successor.
    /// </summary>
    /// <param name="remaining">The budget left after the block just run.</param>
    /// <param name="compiled">The successor's compiled form (null when there is no successor).</param>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private DecodedBlock? ChainSuccessor(long remaining, out CompiledBlock? compiled)
    {
        compiled = null;
        if (!NothingBetweenBlocks(remaining))
        {
            return null;
        }

        DecodedBlock? previous = _currentBlock;
        DecodedBlock? next = previous is null ? null : CompiledLinkedSuccessor(previous, remaining, out compiled);
        if (next is not null)
        {
            _currentBlock = next;
        }

        return next;
    }

    /// <summary>
    /// The block the run loop's FetchBlock would find next through <paramref name="previous"/>'s successor links, when it
    /// is compiled and the chaining loop may enter it (whole within the budget and within CS.limit); else null. Shared by
    /// the chain (<see cref="ChainSuccessor"/>) and the self-loop test (<see cref="IsOwnSuccessor"/>).
    /// </summary>
    /// <param name="previous">The block just run.</param>
    /// <param name="remaining">The budget left after it.</param>
    /// <param name="compiled">The successor's compiled form (null when there is no such successor).</param>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private DecodedBlock? CompiledLinkedSuccessor(DecodedBlock previous, long remaining, out CompiledBlock? compiled)
    {
        ref CpuContext ctx = ref _ctx;
        compiled = null;

        // FetchBlock's successor links, in its order; a new translation epoch is left to it (it drops the links).
        if (!previous.Valid || previous.LinkEpoch != _mmu.TranslationEpoch)
        {
            return null;
        }

        ulong linear = CodeLinear;
        DecodedBlock? next = previous.Successor0;
        if (next is null || previous.Successor0Linear != linear || !next.Valid || (next.Key & DecodeCache.CodeSizeKeyMask) != ctx.CodeSizeKey)
        {
            next = previous.Successor1;
            if (next is null || previous.Successor1Linear != linear || !next.Valid || (next.Key & DecodeCache.CodeSizeKeyMask) != ctx.CodeSizeKey)
            {
                return null;
            }
        }

        // Compiled, whole within the budget, and within CS.limit (or the run loop would cut it: Cpu.CodeLimit.cs).
        if (next.CompiledEntry is not CompiledBlock nextCompiled || next.Count > remaining
            || (ctx.Rip + next.ByteLength > Math.Min((ulong)ctx.SegLimit[Cs] + 1, ctx.Code32 ? ulong.MaxValue : 0x10000UL) && !ctx.Code64))
        {
            return null;
        }

        compiled = nextCompiled;
        return next;
    }

    /// <summary>
    /// Whether the run loop would do nothing between two blocks but fetch the next one: budget left, no shutdown, stop
    /// request, halt, pending NMI, interrupt shadow, debug path or host hook, and no maskable interrupt pending when IF is set.
    /// </summary>
    /// <param name="remaining">The budget left after the block just run.</param>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool NothingBetweenBlocks(long remaining)
    {
        ref CpuContext ctx = ref _ctx;
        if (remaining <= 0 || _shutdown || _runLoopExits.Any != 0 || _inhibitInterrupts || _nmiPending || _halted || _debugSlowPath
            || _hostHooksArmed || _debugTrapBits != 0 || (ctx.Eflags & (EflagsBits.Tf | EflagsBits.Rf)) != 0)
        {
            return false;
        }

        // Cpu.CheckInterrupts with nothing to take: the INTR line read once, as the run loop reads it.
        return (ctx.Eflags & EflagsBits.If) == 0 || InterruptController is not { } controller || !controller.IsInterruptPending;
    }
}
