namespace Virt.Cpu;

/// <summary>
/// Called by CPUID after the CPU computed its result (<see cref="Cpu.CpuidHook"/>); may replace any of the four registers.
/// </summary>
/// <param name="leaf">EAX as the guest gave it (before an out-of-range leaf is clamped to the highest basic leaf).</param>
/// <param name="subleaf">ECX as the guest gave it.</param>
/// <param name="eax">The result EAX.</param>
/// <param name="ebx">The result EBX.</param>
/// <param name="ecx">The result ECX.</param>
/// <param name="edx">The result EDX.</param>
public delegate void CpuidHook(uint leaf, uint subleaf, ref uint eax, ref uint ebx, ref uint ecx, ref uint edx);
