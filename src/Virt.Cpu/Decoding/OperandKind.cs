namespace Virt.Cpu.Decoding;

/// <summary>Where a pre-resolved operand lives.</summary>
internal enum OperandKind : byte
{
    None,
    Register,
    Memory,
    Immediate,
    Segment,
    Control,
}
