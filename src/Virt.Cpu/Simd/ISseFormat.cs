namespace Virt.Cpu.Simd;

/// <summary>
/// An IEEE 754 binary interchange format as the SSE unit stores it: the width of the fraction and of the biased exponent.
/// <see cref="SseFloat{T}"/> is written once over this interface and specialised by the JIT per format (the members are
/// static abstract, so each instantiation sees constants).
/// </summary>
internal interface ISseFormat
{
    /// <summary>The number of stored fraction bits (23 for binary32, 52 for binary64).</summary>
    static abstract int FractionBits { get; }

    /// <summary>The number of biased exponent bits (8 for binary32, 11 for binary64).</summary>
    static abstract int ExponentBits { get; }
}
