using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Virt.Cpu.Decoding;

namespace Virt.Cpu;

/// <summary>
/// Why the run loop costs nothing for block and count hooks while none is set: <see cref="Run"/> picks the loop's
/// instantiation when it starts (<see cref="HookedRunner"/> while a hook is set, the tier's runner otherwise), so the
/// unhooked loops contain no hook code at all, and a hook set or removed during a run is noticed by the test the loop
/// makes anyway at each block entry for <see cref="RequestStop"/> (<see cref="RunLoopExits.Any"/>), which then leaves the
/// loop for <see cref="Run"/> to enter the other instantiation.
/// </summary>
public sealed partial class Cpu
{
    /// <summary>
    /// What the run loop returns to <see cref="Run"/> (never to a caller) when the block or count hooks were set or removed
    /// and the loop's instantiation no longer fits; the budget left is in <see cref="_remainingAtRunLoopChange"/>.
    /// </summary>
    private const StopReason RunLoopChange = (StopReason)(-1);

    /// <summary>The flags the run loop tests, as one, at the start of every block (see <see cref="RunLoopExits"/>).</summary>
    private RunLoopExits _runLoopExits;

    /// <summary>The instruction budget left when the run loop returned <see cref="RunLoopChange"/>.</summary>
    private long _remainingAtRunLoopChange;

    /// <summary>
    /// The reasons to leave the run loop at a block entry, laid over one 16-bit word so the loop tests them together: one
    /// load and one compare per block, as when <see cref="StopRequested"/> was the only one. Each flag is its own byte, so
    /// a thread setting one never loses another thread's write of the other.
    /// </summary>
    [StructLayout(LayoutKind.Explicit)]
    private struct RunLoopExits
    {
        /// <summary>The host asked <see cref="Run"/> to return (<see cref="RequestStop"/>).</summary>
        [FieldOffset(0)]
        public volatile bool StopRequested;

        /// <summary>A block or count hook was set or removed since the run loop last looked (<see cref="UpdateHostHooksArmed"/>).</summary>
        [FieldOffset(1)]
        public volatile bool HostHooksChanged;

        /// <summary>Both flags: nonzero when either is set.</summary>
        [FieldOffset(0)]
        public volatile ushort Any;
    }

    /// <summary>
    /// The run loop of a CPU with a block or count hook set, whatever the tier: each block runs through
    /// <see cref="RunBlockWithHostHooks"/> in the interpreter (the loop calls it directly, since a hook may send the loop
    /// back to its start before the block runs).
    /// </summary>
    private readonly struct HookedRunner : IBlockRunner
    {
        /// <summary>Runs the block with its hooks, within the budget the run loop left in <see cref="_budgetLeft"/>.</summary>
        public static int Run(Cpu cpu, DecodedBlock block, int count) => cpu.RunBlockWithHostHooks(block, count, cpu._budgetLeft);

        /// <summary>Always 0: hooked blocks are interpreted one at a time, never chained.</summary>
        public static long TakeChainedRetired(Cpu cpu) => 0;
    }

    /// <summary>The run loop for the hooks and tier as they are now.</summary>
    private StopReason RunLoopForHooksAndTier(long maxInstructions) =>
        _hostHooksArmed ? RunLoop<HookedRunner>(maxInstructions)
        : _blockCompiler is null ? RunLoop<InterpreterRunner>(maxInstructions)
        : RunLoop<TieredRunner>(maxInstructions);

    /// <summary>
    /// Called by the run loop at a block entry when <see cref="RunLoopExits.HostHooksChanged"/> is set: clears it and tells
    /// whether the loop's instantiation <typeparamref name="TRunner"/> no longer fits the hooks.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private bool HostHooksChangedRunner<TRunner>()
        where TRunner : struct, IBlockRunner
    {
        _runLoopExits.HostHooksChanged = false;

        // The flag is cleared before the hooks are read (a full fence: a store followed by a load may otherwise pass it), so
        // a change made by another thread meanwhile sets the flag again and is seen at the next block entry.
        Interlocked.MemoryBarrier();
        return _hostHooksArmed != (typeof(TRunner) == typeof(HookedRunner));
    }

    /// <summary>Recomputes whether a block or count hook is set and, when that changed, tells the run loop.</summary>
    private void UpdateHostHooksArmed()
    {
        bool armed = _blockHook is not null || _instructionCountHook is not null;
        if (armed != _hostHooksArmed)
        {
            // Written before the flag (a volatile write releases it), so the run loop that sees the flag sees the hooks.
            _hostHooksArmed = armed;
            _runLoopExits.HostHooksChanged = true;
        }
    }
}
