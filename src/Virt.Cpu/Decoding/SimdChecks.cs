namespace Virt.Cpu.Decoding;

/// <summary>
/// The availability checks a SIMD instruction makes before it runs, classified once at translation and carried in
/// <see cref="DecodedInstruction.Cond"/> (Intel SDM Vol. 3A, 2.5 and 13.1 for CR0.EM, CR0.TS and CR4.OSFXSR; Vol. 2, the
/// exception sections of each instruction).
/// </summary>
[Flags]
internal enum SimdChecks : byte
{
    /// <summary>No FPU or SSE checks: fences, MOVNTI, CRC32 (general-register instructions that CPUID lists under SSE).</summary>
    None = 0,

    /// <summary>SSE state: CR0.EM = 1 is #UD, CR4.OSFXSR = 0 is #UD, CR0.TS = 1 is #NM.</summary>
    Sse = 1,

    /// <summary>An MMX register: CR0.EM = 1 is #UD, CR0.TS = 1 is #NM, a pending x87 exception is #MF (or FERR#).</summary>
    Mmx = 2,
}
