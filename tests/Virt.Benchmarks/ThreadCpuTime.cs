using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Virt.Benchmarks;

/// <summary>
/// CPU time consumed by the calling thread, so that a single-threaded measurement on a shared machine counts only the time
/// the scheduler actually gave it (other processes and this process's JIT and GC threads do not count). On Linux this is
/// <c>clock_gettime(CLOCK_THREAD_CPUTIME_ID)</c>; elsewhere it falls back to the process's total processor time.
/// </summary>
public static partial class ThreadCpuTime
{
    /// <summary>Linux's clock id of the calling thread's CPU-time clock (linux/time.h).</summary>
    private const int ClockThreadCpuTimeId = 3;

    private const double NanosecondsPerSecond = 1e9;

    /// <summary>Whether <see cref="Seconds"/> is per-thread (Linux) rather than the whole process's CPU time.</summary>
    public static bool IsPerThread { get; } = OperatingSystem.IsLinux() && TryThreadClock(out _);

    /// <summary>Reads the CPU time of the calling thread (or of the process, see <see cref="IsPerThread"/>) in seconds.</summary>
    /// <returns>Seconds of CPU time since an arbitrary origin; only differences are meaningful.</returns>
    public static double Seconds() =>
        IsPerThread && TryThreadClock(out double seconds) ? seconds : Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds;

    private static bool TryThreadClock(out double seconds)
    {
        if (clock_gettime(ClockThreadCpuTimeId, out TimeSpec time) != 0)
        {
            seconds = 0;
            return false;
        }

        seconds = time.Seconds + (time.Nanoseconds / NanosecondsPerSecond);
        return true;
    }

    [LibraryImport("libc", EntryPoint = "clock_gettime")]
    private static partial int clock_gettime(int clockId, out TimeSpec time);

    /// <summary>struct timespec on 64-bit Linux: two longs.</summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct TimeSpec
    {
        public long Seconds;
        public long Nanoseconds;
    }
}
