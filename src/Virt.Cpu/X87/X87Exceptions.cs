namespace Virt.Cpu.X87;

/// <summary>
/// The x87 exception flags, with the bit positions they have in the status word and the mask bits
/// they have in the control word (Intel SDM Vol. 1, 8.1.3 and 8.1.5).
/// </summary>
[Flags]
internal enum X87Exceptions : byte
{
    None = 0,

    /// <summary>IE: invalid operation (including stack faults, which also set <see cref="StackFault"/>).</summary>
    Invalid = 0x01,

    /// <summary>DE: an operand was denormal.</summary>
    Denormal = 0x02,

    /// <summary>ZE: division of a finite non-zero value by zero (also FXTRACT and FYL2X of zero).</summary>
    ZeroDivide = 0x04,

    /// <summary>OE: numeric overflow.</summary>
    Overflow = 0x08,

    /// <summary>UE: numeric underflow.</summary>
    Underflow = 0x10,

    /// <summary>PE: inexact result (precision).</summary>
    Precision = 0x20,

    /// <summary>SF: stack fault; status word bit 6, only ever set together with <see cref="Invalid"/>.</summary>
    StackFault = 0x40,

    /// <summary>The six maskable exceptions.</summary>
    All = 0x3F,
}
