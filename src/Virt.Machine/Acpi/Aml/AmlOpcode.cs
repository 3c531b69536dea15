namespace Virt.Machine.Acpi.Aml;

/// <summary>
/// The statement and expression opcodes an <see cref="AmlOperation"/> can hold, valued as their AML byte (ACPI 6.5,
/// 20.3 "AML Byte Stream Byte Values"). The operand counts are those of the grammar (20.2.5): a target counts as an
/// operand.
/// </summary>
public enum AmlOpcode : byte
{
    /// <summary><c>Store (source, target)</c>.</summary>
    Store = 0x70,

    /// <summary><c>Add (a, b, target)</c>.</summary>
    Add = 0x72,

    /// <summary><c>Subtract (a, b, target)</c>.</summary>
    Subtract = 0x74,

    /// <summary><c>Increment (target)</c>.</summary>
    Increment = 0x75,

    /// <summary><c>Decrement (target)</c>.</summary>
    Decrement = 0x76,

    /// <summary><c>ShiftLeft (a, count, target)</c>.</summary>
    ShiftLeft = 0x79,

    /// <summary><c>ShiftRight (a, count, target)</c>.</summary>
    ShiftRight = 0x7A,

    /// <summary><c>And (a, b, target)</c>.</summary>
    And = 0x7B,

    /// <summary><c>Or (a, b, target)</c>.</summary>
    Or = 0x7D,

    /// <summary><c>Xor (a, b, target)</c>.</summary>
    Xor = 0x7F,

    /// <summary><c>Not (a, target)</c>.</summary>
    Not = 0x80,

    /// <summary><c>SizeOf (object)</c>.</summary>
    SizeOf = 0x87,

    /// <summary><c>CreateDWordField (buffer, byteIndex, name)</c>: the last operand is a name string being declared.</summary>
    CreateDWordField = 0x8A,

    /// <summary><c>CreateWordField (buffer, byteIndex, name)</c>.</summary>
    CreateWordField = 0x8B,

    /// <summary><c>CreateByteField (buffer, byteIndex, name)</c>.</summary>
    CreateByteField = 0x8C,

    /// <summary><c>Notify (object, value)</c>.</summary>
    Notify = 0x86,

    /// <summary><c>LAnd (a, b)</c>.</summary>
    LAnd = 0x90,

    /// <summary><c>LOr (a, b)</c>.</summary>
    LOr = 0x91,

    /// <summary><c>LNot (a)</c>.</summary>
    LNot = 0x92,

    /// <summary><c>LEqual (a, b)</c>.</summary>
    LEqual = 0x93,

    /// <summary><c>LGreater (a, b)</c>.</summary>
    LGreater = 0x94,

    /// <summary><c>LLess (a, b)</c>.</summary>
    LLess = 0x95,

    /// <summary><c>Noop</c>.</summary>
    Noop = 0xA3,

    /// <summary><c>Return (value)</c>.</summary>
    Return = 0xA4,

    /// <summary><c>Break</c>.</summary>
    Break = 0xA5,
}
