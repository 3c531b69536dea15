namespace Virt.Cpu.Simd;

/// <summary>IEEE 754 binary64 (double precision: the PD and SD forms).</summary>
internal readonly struct SseBinary64 : ISseFormat
{
    /// <inheritdoc/>
    public static int FractionBits => 52;

    /// <inheritdoc/>
    public static int ExponentBits => 11;
}
