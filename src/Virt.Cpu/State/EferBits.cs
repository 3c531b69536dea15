namespace Virt.Cpu;

/// <summary>The bits of IA32_EFER (MSR C000_0080h; Intel SDM Vol. 3A, 2.2.1, Figure 2-4).</summary>
internal static class EferBits
{
    /// <summary>SYSCALL enable.</summary>
    public const ulong Sce = 1UL << 0;

    /// <summary>Long mode enable.</summary>
    public const ulong Lme = 1UL << 8;

    /// <summary>Long mode active.</summary>
    public const ulong Lma = 1UL << 10;

    /// <summary>Execute-disable enable.</summary>
    public const ulong Nxe = 1UL << 11;
}
