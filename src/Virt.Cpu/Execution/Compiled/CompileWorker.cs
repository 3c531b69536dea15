using System.Collections.Concurrent;
using Virt.Cpu.Decoding;

namespace Virt.Cpu;

/// <summary>
/// The background thread of <see cref="CpuOptions.BackgroundCompilation"/>: one for the process, shared by every CPU,
/// started when a block is queued and ended after <see cref="IdleExit"/> without work. A queued request holds its CPU
/// alive only until it is compiled (each CPU has at most <see cref="BlockCompiler.MaxPendingCompiles"/> queued), so a CPU
/// or machine dropped without any disposal leaks neither a thread nor its memory.
/// </summary>
internal static class CompileWorker
{
    /// <summary>How long the thread waits for work before it ends.</summary>
    private static readonly TimeSpan IdleExit = TimeSpan.FromSeconds(2);

    private static readonly ConcurrentQueue<(BlockCompiler Owner, DecodedBlock Block)> s_queue = new();
    private static readonly SemaphoreSlim s_signal = new(0);
    private static readonly Lock s_lock = new();
    private static bool s_running;

    /// <summary>Whether the thread is running now (for tests).</summary>
    internal static bool IsRunning
    {
        get
        {
            lock (s_lock)
            {
                return s_running;
            }
        }
    }

    /// <summary>Queues <paramref name="block"/> of <paramref name="owner"/>, starting the thread when it is not running.</summary>
    public static void Post(BlockCompiler owner, DecodedBlock block)
    {
        s_queue.Enqueue((owner, block));
        s_signal.Release();
        lock (s_lock)
        {
            if (!s_running)
            {
                s_running = true;
                new Thread(Loop) { IsBackground = true, Name = "Virt compiled tier" }.Start();
            }
        }
    }

    private static void Loop()
    {
        while (true)
        {
            if (!s_signal.Wait(IdleExit))
            {
                lock (s_lock)
                {
                    // A request queued after the wait timed out is either seen here or starts a new thread after this one
                    // leaves (Post takes the lock after queueing).
                    if (s_queue.IsEmpty)
                    {
                        s_running = false;
                        return;
                    }
                }

                continue;
            }

            if (s_queue.TryDequeue(out (BlockCompiler Owner, DecodedBlock Block) request))
            {
                request.Owner.CompileOnWorker(request.Block);
            }
        }
    }
}
