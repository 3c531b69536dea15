namespace Virt.Cpu.X87;

/// <summary>The constants of FLD1, FLDZ, FLDPI, FLDL2T, FLDL2E, FLDLG2 and FLDLN2.</summary>
internal enum X87Constant : byte
{
    One,
    Zero,
    Pi,
    Log2Ten,
    Log2E,
    Log10Two,
    Ln2,
}
