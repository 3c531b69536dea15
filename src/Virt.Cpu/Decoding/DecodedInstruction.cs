using System.Runtime.InteropServices;
using Iced.Intel;

namespace Virt.Cpu.Decoding;

/// <summary>
/// One instruction in the executor's own compact form: a handler index plus pre-resolved operands, so the execute loop
/// never looks at Iced's operand kinds again. Memory operands carry an effective-address recipe
/// (segment + base + index &lt;&lt; scale + displacement, masked to the address size).
/// </summary>
[StructLayout(LayoutKind.Auto)]
internal struct DecodedInstruction
{
    /// <summary>No register in <see cref="Base"/> or <see cref="Index"/>.</summary>
    public const byte NoRegister = 0xFF;

    public Op Op;

    /// <summary>Iced's code of the instruction, for the families that dispatch on it themselves (<see cref="Op.Simd"/>).</summary>
    public Code Code;
    public byte Length;

    /// <summary>Operand size in bytes (1, 2, 4 or 8) of the main operand.</summary>
    public byte OpSize;

    /// <summary>Address size in bytes (2 or 4).</summary>
    public byte AddrSize;

    /// <summary>Segment of the memory operand (or the source of a string instruction), after overrides.</summary>
    public byte Seg;

    /// <summary>0 none, 1 REP/REPE, 2 REPNE.</summary>
    public byte Rep;

    public OperandKind Kind0;
    public OperandKind Kind1;
    public OperandKind Kind2;
    public byte Reg0;
    public byte Reg1;
    public byte Reg2;
    public byte Size1;
    public byte Size2;
    public byte Base;
    public byte Index;
    public byte Scale;

    /// <summary>x86 condition code 0-15 for Jcc, SETcc and CMOVcc.</summary>
    public byte Cond;

    /// <summary>Whether the instruction ends its block (any control transfer, or something that changes how code is decoded).</summary>
    public bool EndsBlock;

    public uint Disp;

    /// <summary>Immediate operand (masked to its size), relative branch displacement or far offset.</summary>
    public uint Imm;

    /// <summary>Second immediate: ENTER's nesting level or a far pointer's selector.</summary>
    public uint Imm2;
}
