using System.Collections.Concurrent;
using Virt.Cpu.Decoding;

namespace Virt.Cpu;

/// <summary>
/// Background compilation (<see cref="CpuOptions.BackgroundCompilation"/>): the run thread hands a hot block to
/// <see cref="CompileWorker"/> and keeps interpreting it; the worker compiles it (IL and the runtime's JIT) and leaves the
/// result here; the run thread attaches it at a later entry of an uncompiled block, only if the block is still valid.
/// </summary>
/// <remarks>
/// Only the run thread writes a block's entry slot, hit counts and the compiler's lists: the worker reads the block's
/// instructions, which never change once the block is cached (an invalidated block is never valid again; new bytes are
/// decoded into a new block), so a block checked <see cref="DecodedBlock.Valid"/> at attach time is exactly the block that
/// was compiled, and stale code never runs.
/// </remarks>
internal sealed partial class BlockCompiler
{
    /// <summary>The most blocks one CPU may have queued or compiled but not yet attached (bounds the memory they hold).</summary>
    public const int MaxPendingCompiles = 32;

    /// <summary>The hit count of a block queued for compilation: far below any threshold, so it is not offered again meanwhile.</summary>
    private const int QueuedHitCount = int.MinValue;

    private readonly ConcurrentQueue<FinishedCompile> _finished = new();

    /// <summary>Blocks queued or finished but not attached (run thread only).</summary>
    private int _pending;

    /// <summary>Set by the worker after it left a result in <see cref="_finished"/>.</summary>
    private volatile bool _hasFinished;

    /// <summary>Whether the background thread left results to attach (read by the run loop at uncompiled entries).</summary>
    public bool HasFinishedCompiles => _hasFinished;

    /// <summary>Blocks queued or finished but not yet attached.</summary>
    internal int PendingCompiles => _pending;

    /// <summary>Queues <paramref name="block"/> for the worker unless this CPU already has <see cref="MaxPendingCompiles"/> pending (then it is offered again at a later entry).</summary>
    private void Enqueue(DecodedBlock block)
    {
        if (_pending >= MaxPendingCompiles)
        {
            // Give back the allowance ShouldCompile took: the block was not compiled.
            _compileAllowance += block.Count;
            return;
        }

        _pending++;
        block.HitCount = QueuedHitCount;
        CompileWorker.Post(this, block);
    }

    /// <summary>On the worker: compiles <paramref name="block"/> and leaves the result for the run thread.</summary>
    internal void CompileOnWorker(DecodedBlock block)
    {
        FinishedCompile result;
        try
        {
            CompiledBlock? compiled = CompileNow(block, out int ilBytes, out long ticks);
            result = new FinishedCompile(block, compiled, ilBytes, ticks, null);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            result = new FinishedCompile(block, null, 0, 0, e);
        }

        _finished.Enqueue(result);

        // Set after the result is queued and cleared by the run thread before it drains the queue, so no result waits unseen.
        _hasFinished = true;
    }

    /// <summary>On the run thread: attaches what the worker finished, dropping results whose block was invalidated meanwhile.</summary>
    /// <exception cref="InvalidOperationException">When the compiler failed on the worker (a defect of the compiler, reported on the run thread as the synchronous path would).</exception>
    public void AttachFinished()
    {
        _hasFinished = false;
        while (_finished.TryDequeue(out FinishedCompile result))
        {
            _pending--;
            _compileTicks += result.Ticks;
            if (result.Failure is not null)
            {
                throw new InvalidOperationException($"The compiled tier failed to compile the block at physical {result.Block.PhysicalStart:X} on the background thread.", result.Failure);
            }

            if (result.Compiled is null)
            {
                continue; // a shape the compiler does not take: the block keeps its far-back hit count
            }

            if (!result.Block.Valid)
            {
                // Its bytes changed (or it was evicted from the decode cache) while it was compiled: the code is stale and is
                // dropped unused. A code write counts towards the page's back-off like the invalidation of attached code.
                OnCompiledBlockInvalidated(result.Block);
                continue;
            }

            Attach(result.Block, result.Compiled, result.IlBytes);
        }
    }

    /// <summary>For tests: waits until the worker finished every block this CPU queued (without attaching them).</summary>
    /// <returns>False when <paramref name="timeout"/> passed first.</returns>
    internal bool WaitForFinished(TimeSpan timeout)
    {
        long end = Environment.TickCount64 + (long)timeout.TotalMilliseconds;
        while (_finished.Count < _pending)
        {
            if (Environment.TickCount64 > end)
            {
                return false;
            }

            Thread.Sleep(1);
        }

        return true;
    }

    /// <summary>What the worker produced for one block.</summary>
    private readonly record struct FinishedCompile(DecodedBlock Block, CompiledBlock? Compiled, int IlBytes, long Ticks, Exception? Failure);
}
