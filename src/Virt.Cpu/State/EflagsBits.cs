namespace Virt.Cpu;

/// <summary>
/// The bits of EFLAGS as <see cref="uint"/> constants for the core's hot paths (Intel SDM Vol. 1, 3.4.3); the public
/// <see cref="CpuFlags"/> enumeration names the same bits for hosts.
/// </summary>
internal static class EflagsBits
{
    /// <summary>Carry.</summary>
    public const uint Cf = 1u << 0;

    /// <summary>Bit 1, always set.</summary>
    public const uint Reserved1 = 1u << 1;

    /// <summary>Parity.</summary>
    public const uint Pf = 1u << 2;

    /// <summary>Auxiliary carry.</summary>
    public const uint Af = 1u << 4;

    /// <summary>Zero.</summary>
    public const uint Zf = 1u << 6;

    /// <summary>Sign.</summary>
    public const uint Sf = 1u << 7;

    /// <summary>Trap (single step).</summary>
    public const uint Tf = 1u << 8;

    /// <summary>Interrupt enable.</summary>
    public const uint If = 1u << 9;

    /// <summary>Direction.</summary>
    public const uint Df = 1u << 10;

    /// <summary>Overflow.</summary>
    public const uint Of = 1u << 11;

    /// <summary>I/O privilege level (bits 13:12).</summary>
    public const uint Iopl = 3u << 12;

    /// <summary>The shift of <see cref="Iopl"/>.</summary>
    public const int IoplShift = 12;

    /// <summary>Nested task.</summary>
    public const uint Nt = 1u << 14;

    /// <summary>Resume.</summary>
    public const uint Rf = 1u << 16;

    /// <summary>Virtual-8086 mode.</summary>
    public const uint Vm = 1u << 17;

    /// <summary>Alignment check.</summary>
    public const uint Ac = 1u << 18;

    /// <summary>Virtual interrupt flag.</summary>
    public const uint Vif = 1u << 19;

    /// <summary>Virtual interrupt pending.</summary>
    public const uint Vip = 1u << 20;

    /// <summary>CPUID available (writable).</summary>
    public const uint Id = 1u << 21;

    /// <summary>The six status flags (OF, SF, ZF, AF, PF, CF).</summary>
    public const uint Status = Of | Sf | Zf | Af | Pf | Cf;

    /// <summary>Every defined flag of the low word (FLAGS), bit 1 excluded.</summary>
    public const uint Defined16 = Status | Tf | If | Df | Iopl | Nt;

    /// <summary>Every defined flag of EFLAGS, bit 1 excluded.</summary>
    public const uint Defined = Defined16 | Rf | Vm | Ac | Vif | Vip | Id;

    /// <summary>What a 32-bit POPF or IRET may change at CPL 0 outside virtual-8086 mode: RF, VM, VIF and VIP excepted.</summary>
    public const uint Popf32Writable = Defined16 | Ac | Id;

    /// <summary>The image PUSHFD stores: RF and VM read as zero (Intel SDM Vol. 2B, PUSHF).</summary>
    public const uint PushfdImage = 0x00FF_FFFFu & ~(Rf | Vm);
}
