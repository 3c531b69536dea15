namespace Virt.Cpu;

/// <summary>Called by WRMSR at CPL 0 before the CPU writes the MSR (<see cref="Cpu.MsrWriteHook"/>).</summary>
/// <param name="index">The MSR index (ECX).</param>
/// <param name="value">The value written (EDX:EAX); the hook may replace it.</param>
/// <returns>True to let the write through (the CPU may still raise #GP(0) for it); false to suppress it (the WRMSR completes and changes nothing).</returns>
public delegate bool MsrWriteHook(uint index, ref ulong value);
