namespace Virt.Cpu;

/// <summary>The bits of CR4 (Intel SDM Vol. 3A, 2.5, Figure 2-7).</summary>
internal static class Cr4Bits
{
    /// <summary>Virtual-8086 mode extensions.</summary>
    public const ulong Vme = 1UL << 0;

    /// <summary>Protected-mode virtual interrupts.</summary>
    public const ulong Pvi = 1UL << 1;

    /// <summary>Time stamp disable: RDTSC is privileged.</summary>
    public const ulong Tsd = 1UL << 2;

    /// <summary>Debugging extensions: I/O breakpoints, DR4/DR5 undefined.</summary>
    public const ulong De = 1UL << 3;

    /// <summary>Page size extensions: 4 MiB pages in 32-bit paging.</summary>
    public const ulong Pse = 1UL << 4;

    /// <summary>Physical address extension: PAE paging.</summary>
    public const ulong Pae = 1UL << 5;

    /// <summary>Page global enable.</summary>
    public const ulong Pge = 1UL << 7;

    /// <summary>FXSAVE/FXRSTOR support by the operating system.</summary>
    public const ulong Osfxsr = 1UL << 9;

    /// <summary>The operating system handles #XM: unmasked SIMD floating-point exceptions raise #XM rather than #UD (Intel SDM Vol. 3A, 2.5).</summary>
    public const ulong Osxmmexcpt = 1UL << 10;

    /// <summary>RDFSBASE, RDGSBASE, WRFSBASE and WRGSBASE enabled in 64-bit mode (Intel SDM Vol. 3A, 2.5).</summary>
    public const ulong Fsgsbase = 1UL << 16;

    /// <summary>Process-context identifiers: CR3 bits 11:0 are the current PCID (Intel SDM Vol. 3A, 4.10.1).</summary>
    public const ulong Pcide = 1UL << 17;

    /// <summary>XSAVE and processor extended states enabled: XGETBV/XSETBV/XSAVE/XRSTOR usable, CPUID.1:ECX.OSXSAVE set (Vol. 3A, 2.5).</summary>
    public const ulong Osxsave = 1UL << 18;
}
