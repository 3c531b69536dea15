namespace Virt.Cpu;

/// <summary>Called by RDTSC once it passed its privilege check (<see cref="Cpu.TscReadHook"/>).</summary>
/// <param name="value">The time-stamp counter the CPU read (TSC offset included).</param>
/// <returns>The value EDX:EAX receives (return <paramref name="value"/> to observe only).</returns>
public delegate ulong TscReadHook(ulong value);
