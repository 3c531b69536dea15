namespace Virt.Cpu;

/// <summary>The kind of operation the lazy-flag record in <see cref="CpuContext"/> describes.</summary>
internal enum LazyOp : byte
{
    /// <summary>EFLAGS holds the status flags themselves.</summary>
    None,

    /// <summary>ADD: CF and OF from the sum.</summary>
    Add,

    /// <summary>ADC: as ADD with a carry-in.</summary>
    Adc,

    /// <summary>SUB, CMP, NEG.</summary>
    Sub,

    /// <summary>SBB: as SUB with a borrow-in.</summary>
    Sbb,

    /// <summary>AND, OR, XOR, TEST: CF and OF clear.</summary>
    Logic,

    /// <summary>INC: CF kept in EFLAGS.</summary>
    Inc,

    /// <summary>DEC: CF kept in EFLAGS.</summary>
    Dec,

    /// <summary>SHL/SHR/SAR: SF, ZF, PF from the result; CF and OF already stored in EFLAGS; AF cleared.</summary>
    Shift,
}
