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

    /// <summary>
    /// <see cref="Base"/> of a RIP-relative operand: the displacement is relative to the next instruction's RIP, which the
    /// executor already holds (Intel SDM Vol. 2A, 2.2.1.6). Relative, not Iced's absolute target, because a cached block is
    /// keyed by its physical address and may run at more than one linear address.
    /// </summary>
    public const byte RipRegister = 0xFE;

    /// <summary>
    /// Byte registers SPL, BPL, SIL and DIL (REX present) are numbered <c>ByteRegisterRexBase + 4..7</c>, so that 4-7 keep
    /// meaning AH-BH; every register number is masked to 0-15 when it reaches the register file.
    /// </summary>
    public const byte ByteRegisterRexBase = 16;

    public Op Op;

    /// <summary>Iced's code of the instruction, for the families that dispatch on it themselves (<see cref="Op.Simd"/>).</summary>
    public Code Code;
    public byte Length;

    /// <summary>Operand size in bytes (1, 2, 4 or 8) of the main operand.</summary>
    public byte OpSize;

    /// <summary>Address size in bytes (2, 4 or 8).</summary>
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

    /// <summary>The displacement (sign-extended to 64 bits in 64-bit addressing; callers with narrower addresses truncate).</summary>
    public ulong Disp;

    /// <summary>
    /// Immediate operand (masked to its size; sign-extended to 64 bits for the imm32 forms of 64-bit operand size), relative
    /// branch displacement (sign-extended) or far offset.
    /// </summary>
    public ulong Imm;

    /// <summary>Second immediate: ENTER's nesting level or a far pointer's selector.</summary>
    public uint Imm2;
}
