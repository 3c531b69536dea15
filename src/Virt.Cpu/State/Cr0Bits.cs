namespace Virt.Cpu;

/// <summary>The bits of CR0 (Intel SDM Vol. 3A, 2.5, Figure 2-7).</summary>
internal static class Cr0Bits
{
    /// <summary>Protection enable.</summary>
    public const ulong Pe = 1UL << 0;

    /// <summary>Monitor coprocessor: WAIT/FWAIT honour TS.</summary>
    public const ulong Mp = 1UL << 1;

    /// <summary>Emulation: x87 instructions raise #NM.</summary>
    public const ulong Em = 1UL << 2;

    /// <summary>Task switched: the next x87 instruction raises #NM.</summary>
    public const ulong Ts = 1UL << 3;

    /// <summary>Extension type: hard-wired to 1 on P6-family processors.</summary>
    public const ulong Et = 1UL << 4;

    /// <summary>Numeric error: x87 errors raise #MF rather than FERR#.</summary>
    public const ulong Ne = 1UL << 5;

    /// <summary>Write protect: supervisor writes honour read-only pages.</summary>
    public const ulong Wp = 1UL << 16;

    /// <summary>Alignment mask.</summary>
    public const ulong Am = 1UL << 18;

    /// <summary>Not write-through.</summary>
    public const ulong Nw = 1UL << 29;

    /// <summary>Cache disable.</summary>
    public const ulong Cd = 1UL << 30;

    /// <summary>Paging.</summary>
    public const ulong Pg = 1UL << 31;

    /// <summary>The bits LMSW may write (PE, MP, EM, TS; it can set PE but never clear it).</summary>
    public const ulong LmswBits = Pe | Mp | Em | Ts;

    /// <summary>CR0 after reset (Intel SDM Vol. 3A, 10.1.1, Table 10-1): CD, NW and ET set.</summary>
    public const ulong ResetValue = Cd | Nw | Et;
}
