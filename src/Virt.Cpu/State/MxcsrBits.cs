namespace Virt.Cpu;

/// <summary>The bits of MXCSR, the SSE control and status register (Intel SDM Vol. 1, 10.2.3, Figure 10-3).</summary>
internal static class MxcsrBits
{
    /// <summary>Invalid-operation exception flag.</summary>
    public const uint Ie = 1u << 0;

    /// <summary>Denormal-operand exception flag.</summary>
    public const uint De = 1u << 1;

    /// <summary>Divide-by-zero exception flag.</summary>
    public const uint Ze = 1u << 2;

    /// <summary>Overflow exception flag.</summary>
    public const uint Oe = 1u << 3;

    /// <summary>Underflow exception flag.</summary>
    public const uint Ue = 1u << 4;

    /// <summary>Precision (inexact result) exception flag.</summary>
    public const uint Pe = 1u << 5;

    /// <summary>The six exception flags.</summary>
    public const uint FlagMask = Ie | De | Ze | Oe | Ue | Pe;

    /// <summary>Denormals-are-zeros: denormal source operands are read as zeros of the same sign (Vol. 1, 10.2.3.4).</summary>
    public const uint Daz = 1u << 6;

    /// <summary>Invalid-operation exception mask.</summary>
    public const uint Im = 1u << 7;

    /// <summary>Denormal-operand exception mask.</summary>
    public const uint Dm = 1u << 8;

    /// <summary>Divide-by-zero exception mask.</summary>
    public const uint Zm = 1u << 9;

    /// <summary>Overflow exception mask.</summary>
    public const uint Om = 1u << 10;

    /// <summary>Underflow exception mask.</summary>
    public const uint Um = 1u << 11;

    /// <summary>Precision exception mask.</summary>
    public const uint Pm = 1u << 12;

    /// <summary>The six exception masks (each one the matching flag shifted left by <see cref="MaskShift"/>).</summary>
    public const uint MaskMask = Im | Dm | Zm | Om | Um | Pm;

    /// <summary>The distance from an exception flag to its mask bit.</summary>
    public const int MaskShift = 7;

    /// <summary>The rounding-control field's position.</summary>
    public const int RoundingShift = 13;

    /// <summary>The rounding-control field (00 nearest, 01 down, 10 up, 11 toward zero).</summary>
    public const uint RoundingMask = 3u << RoundingShift;

    /// <summary>Flush-to-zero: tiny results become zeros of the same sign when underflow is masked (Vol. 1, 10.2.3.3).</summary>
    public const uint Ftz = 1u << 15;

    /// <summary>
    /// The bits software may set: MXCSR_MASK as FXSAVE reports it. Bits 16-31 are reserved and make LDMXCSR/FXRSTOR raise
    /// #GP (Vol. 1, 11.6.6); DAZ is included because every SSE2 processor supports it.
    /// </summary>
    public const uint WritableMask = 0xFFFF;

    /// <summary>The power-on and reset value: all exceptions masked, round to nearest, flags clear (Vol. 3A, Table 10-1).</summary>
    public const uint ResetValue = MaskMask;
}
