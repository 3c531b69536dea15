namespace Virt.Cpu;

/// <summary>Called by RDMSR at CPL 0 after the CPU read the MSR (<see cref="Cpu.MsrReadHook"/>).</summary>
/// <param name="index">The MSR index (ECX).</param>
/// <param name="implemented">Whether the CPU implements the MSR (false: it would raise #GP(0) and <paramref name="value"/> is 0).</param>
/// <param name="value">The value EDX:EAX receives; the hook may replace it.</param>
/// <returns>True to complete the RDMSR with <paramref name="value"/> (also for an MSR the CPU does not implement); false to raise #GP(0).</returns>
public delegate bool MsrReadHook(uint index, bool implemented, ref ulong value);
