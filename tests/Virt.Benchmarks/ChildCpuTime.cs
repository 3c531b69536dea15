using System.Runtime.InteropServices;

namespace Virt.Benchmarks;

/// <summary>
/// CPU time (user and system) of this process's child processes that have ended and been waited for, so that a child's
/// run on a shared machine counts only the time the scheduler gave it. On Linux this is
/// <c>getrusage(RUSAGE_CHILDREN)</c>; elsewhere it is not available (<see cref="IsAvailable"/>).
/// </summary>
public static partial class ChildCpuTime
{
    /// <summary>getrusage's who for the terminated and waited-for children (sys/resource.h).</summary>
    private const int ResourceUsageChildren = -1;

    private const double MicrosecondsPerSecond = 1e6;

    /// <summary>Whether <see cref="Seconds"/> works on this system.</summary>
    public static bool IsAvailable { get; } = OperatingSystem.IsLinux() && TryRead(out _);

    /// <summary>Reads the children's CPU time in seconds.</summary>
    /// <returns>Seconds since this process started; only differences are meaningful; 0 when not <see cref="IsAvailable"/>.</returns>
    public static double Seconds() => IsAvailable && TryRead(out double seconds) ? seconds : 0;

    private static bool TryRead(out double seconds)
    {
        if (getrusage(ResourceUsageChildren, out ResourceUsage usage) != 0)
        {
            seconds = 0;
            return false;
        }

        seconds = usage.UserSeconds + usage.SystemSeconds + ((usage.UserMicroseconds + usage.SystemMicroseconds) / MicrosecondsPerSecond);
        return true;
    }

    [LibraryImport("libc", EntryPoint = "getrusage")]
    private static partial int getrusage(int who, out ResourceUsage usage);

    /// <summary>struct rusage on 64-bit Linux: two struct timeval (user, system) and fourteen longs, 144 bytes; only the times are read.</summary>
    [StructLayout(LayoutKind.Sequential, Size = 144)]
    private struct ResourceUsage
    {
        public long UserSeconds;
        public long UserMicroseconds;
        public long SystemSeconds;
        public long SystemMicroseconds;
    }
}
