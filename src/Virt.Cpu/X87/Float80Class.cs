namespace Virt.Cpu.X87;

/// <summary>Classes of an 80-bit extended-precision encoding (Intel SDM Vol. 1, 8.2.2, Table 8-3).</summary>
internal enum Float80Class : byte
{
    /// <summary>Exponent 0, significand 0.</summary>
    Zero,

    /// <summary>Exponent 0, integer bit 0, fraction non-zero.</summary>
    Denormal,

    /// <summary>Exponent 0, integer bit 1: the 80387 and later accept it as an operand (with #D).</summary>
    PseudoDenormal,

    /// <summary>Exponent 1..7FFE with the integer bit set.</summary>
    Normal,

    /// <summary>Exponent 7FFF, significand 8000000000000000.</summary>
    Infinity,

    /// <summary>Exponent 7FFF, integer bit 1, fraction bit 62 set.</summary>
    QuietNaN,

    /// <summary>Exponent 7FFF, integer bit 1, bit 62 clear, some other fraction bit set.</summary>
    SignalingNaN,

    /// <summary>Unnormals, pseudo-NaNs and pseudo-infinities: invalid operands since the 80387 (raise #IA).</summary>
    Unsupported,
}
