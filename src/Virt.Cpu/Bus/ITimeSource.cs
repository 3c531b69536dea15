namespace Virt.Cpu;

/// <summary>The source of the time-stamp counter that RDTSC reads (the machine's virtual clock).</summary>
public interface ITimeSource
{
    /// <summary>Reads the current time-stamp counter value.</summary>
    /// <returns>The 64-bit counter.</returns>
    ulong ReadTimestampCounter();
}
