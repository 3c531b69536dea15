namespace Virt.Cpu.Simd;

/// <summary>The MXCSR rounding-control values (Intel SDM Vol. 1, 4.8.4, Table 4-8), also the low bits of ROUNDPS's immediate.</summary>
internal enum SseRounding
{
    /// <summary>Round to nearest, ties to even.</summary>
    Nearest = 0,

    /// <summary>Round toward negative infinity.</summary>
    Down = 1,

    /// <summary>Round toward positive infinity.</summary>
    Up = 2,

    /// <summary>Round toward zero (truncate).</summary>
    TowardZero = 3,
}
