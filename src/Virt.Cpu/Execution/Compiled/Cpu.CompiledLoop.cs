using System.Reflection;
using System.Runtime.CompilerServices;
using Virt.Cpu.Decoding;

namespace Virt.Cpu;

/// <summary>
/// Self-loops inside a compiled block's method: a block with a Jcc or JMP rel that branches back to its own first
/// instruction goes on at the top of its method with the guest registers still in the method's locals, instead of
/// returning to the chaining loop (Cpu.CompiledChaining.cs) and entering itself again (see BlockEmitter.Loop.cs for the
/// generated side and docs/performance.md, "Self-loops and cheaper chaining").
/// </summary>
/// <remarks>
/// <para>
/// The back edge asks <see cref="ContinueCompiledLoop"/> whether to go on; it answers yes exactly when the chaining loop
/// would have entered the same block next: the same bookkeeping (retired count first, then the run loop's between-block
/// tests, see <see cref="NothingBetweenBlocks"/>) and the same successor the run loop's FetchBlock would find through the
/// block's successor links. The links are keyed by linear address (CS base + EIP) and hold only within one translation
/// epoch, so the bytes the next iteration runs are the block's own: same linear address, same translation, same code size,
/// block still valid (a store into its bytes invalidates it). Anything else answers no; the generated code then writes
/// its locals back and returns as an ordinary block that ended in the branch, and the chaining loop or the run loop does
/// what it would have done.
/// </para>
/// <para>
/// Each iteration's instructions are added to the retired count and taken from the budget before the next one runs, as
/// between two chained blocks (<see cref="_chainedRetired"/>), so a virtual-time interrupt controller that reads the count
/// sees it exact, and the run loop's budget stays exact.
/// </para>
/// </remarks>
public sealed partial class Cpu
{
    /// <summary>
    /// Whether the block being entered may loop inside its method: set by <see cref="RunCompiledChain"/> to what it decided
    /// about chaining (a block run alone, under TF/RF or a debug path, or with chaining off, returns after one iteration).
    /// </summary>
    private bool _compiledLoopAllowed;

    /// <summary>How many times a compiled block went round its own loop inside its method (a test and diagnostic counter).</summary>
    internal long CompiledLoopIterations { get; private set; }

    /// <summary>
    /// The back edge of a compiled self-loop (the branch to the block's own start was taken, EIP is the block's start):
    /// whether the block may run again at once. When true, the iteration just run is counted as retired and taken from
    /// the budget, as the chaining loop counts a block before entering the next; when false, nothing is counted, and the
    /// block returns its whole count as an unchained block would.
    /// </summary>
    /// <param name="block">The block whose method calls (the run loop's current block).</param>
    /// <param name="executed">The instructions this iteration ran, the branch included (a Jcc in the block's middle ends it early).</param>
    /// <returns>True to run the block again inside its method.</returns>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private bool ContinueCompiledLoop(DecodedBlock block, int executed)
    {
        // RunCompiledChain's bookkeeping between two blocks, in its order: the retired count first, as the interrupt
        // controller may read it (a deterministic machine's virtual time).
        long retiredNow = executed + _extraRetired;
        long remaining = _budgetLeft - retiredNow;
        _retired += retiredNow;
        if (!_compiledLoopAllowed || _exitBlock || !NothingBetweenBlocks(remaining) || !IsOwnSuccessor(block, remaining))
        {
            _retired -= retiredNow;
            return false;
        }

        _chainedRetired += retiredNow;
        _budgetLeft = remaining;
        _extraRetired = 0;
        block.HitCount++;
        _blockCompiler!.CompiledEntries++;
        ChainedBlockEntries++;
        CompiledLoopIterations++;
        return true;
    }

    /// <summary>
    /// Whether the run loop's FetchBlock would find <paramref name="block"/>, the current block, again through its own
    /// successor links, and the chaining loop would enter it (<see cref="CompiledLinkedSuccessor"/>).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool IsOwnSuccessor(DecodedBlock block, long remaining) =>
        _currentBlock == block && CompiledLinkedSuccessor(block, remaining, out _) == block;

    /// <summary>The member the generated back edge of a self-loop calls (by reflection, once).</summary>
    internal static class CompiledLoopMembers
    {
        /// <summary>Cpu.ContinueCompiledLoop(DecodedBlock, int).</summary>
        public static readonly MethodInfo ContinueLoop =
            typeof(Cpu).GetMethod(nameof(ContinueCompiledLoop), BindingFlags.Instance | BindingFlags.NonPublic)
            ?? throw new InvalidOperationException($"The compiled tier needs the method Cpu.{nameof(ContinueCompiledLoop)}.");
    }
}
