namespace Virt.Cpu.X87;

/// <summary>The FSTENV/FLDENV (and FSAVE/FRSTOR header) layouts of Intel SDM Vol. 1, 8.1.10, Figures 8-9 to 8-12.</summary>
internal enum X87EnvironmentFormat : byte
{
    /// <summary>32-bit operand size, protected mode: 28 bytes with selectors and 32-bit offsets.</summary>
    Protected32,

    /// <summary>32-bit operand size, real or virtual-8086 mode: 28 bytes with 32-bit linear pointers split across fields.</summary>
    Real32,

    /// <summary>16-bit operand size, protected mode: 14 bytes.</summary>
    Protected16,

    /// <summary>16-bit operand size, real mode: 14 bytes with 20-bit linear pointers.</summary>
    Real16,
}
