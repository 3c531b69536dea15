namespace Virt.Cpu.Simd;

/// <summary>IEEE 754 binary32 (single precision: the PS and SS forms).</summary>
internal readonly struct SseBinary32 : ISseFormat
{
    /// <inheritdoc/>
    public static int FractionBits => 23;

    /// <inheritdoc/>
    public static int ExponentBits => 8;
}
