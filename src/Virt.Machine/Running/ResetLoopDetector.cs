using Virt.Cpu;

namespace Virt.Machine;

/// <summary>
/// Tells a guest caught in a reset loop from one that resets on purpose: the same triple fault
/// <see cref="Threshold"/> times in a row (see <see cref="ResetBehavior.Reset"/> for the rule).
/// </summary>
internal sealed class ResetLoopDetector
{
    /// <summary>How many identical triple faults in a row make a loop.</summary>
    public const int Threshold = 8;

    /// <summary>
    /// Instruction counts since the reset may differ by this fraction (1/16) of the first count of the streak and
    /// still count as "no progress": in real-time mode timer interrupts land at different points of each boot.
    /// </summary>
    private const int InstructionToleranceDivisor = 16;

    private CpuShutdownReport? _streakStart;

    /// <summary>The number of identical triple faults in a row so far.</summary>
    public int Streak { get; private set; }

    /// <summary>Counts a triple fault.</summary>
    /// <param name="report">The CPU's report of it.</param>
    /// <returns>True when this one completes a loop.</returns>
    public bool OnTripleFault(CpuShutdownReport report)
    {
        if (_streakStart is { } start && IsRepeat(start, report))
        {
            Streak++;
        }
        else
        {
            _streakStart = report;
            Streak = 1;
        }

        return Streak >= Threshold;
    }

    /// <summary>A reset that was not a triple fault (or a host reset) breaks the streak.</summary>
    public void Clear()
    {
        _streakStart = null;
        Streak = 0;
    }

    private static bool IsRepeat(CpuShutdownReport first, CpuShutdownReport next)
    {
        if (first.Exceptions.Count != next.Exceptions.Count)
        {
            return false;
        }

        for (int i = 0; i < first.Exceptions.Count; i++)
        {
            CpuExceptionRecord a = first.Exceptions[i];
            CpuExceptionRecord b = next.Exceptions[i];
            if (a.Vector != b.Vector || a.ErrorCode != b.ErrorCode || a.CodeSelector != b.CodeSelector || a.Eip != b.Eip)
            {
                return false;
            }
        }

        long difference = Math.Abs(next.RetiredInstructions - first.RetiredInstructions);
        return difference <= first.RetiredInstructions / InstructionToleranceDivisor;
    }
}
