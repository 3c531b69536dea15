using System.Reflection.Emit;
using Virt.Cpu.Decoding;

namespace Virt.Cpu;

/// <summary>
/// The memory forms the translator leaves generic outside 64-bit mode, generated inline as BlockEmitter.Memory.cs generates
/// the fast forms: 16-bit addressing ([BX+SI+disp] and friends, real-mode and 16-bit protected-mode code) and 16-bit
/// operands with either address size. MOV loads and stores (8, 16 and 32 bits), MOVZX/MOVSX loads, ADD..XOR r, m,
/// ADD..TEST m, r/imm and INC/DEC m (16 and 32 bits). The effective address is the 32-bit sum cut to 16 bits
/// (Cpu.EffectiveAddress: base + index + displacement wraps at 64 KiB, Intel SDM Vol. 1, 3.7.5.1); the default segment
/// (SS for BP-based forms) is the decoder's; then the same segment bound check and TLB probe as the fast forms, with the
/// interpreter's dispatch as the slow path. The semantics are those of Cpu.ExecuteMov, ExecuteMovzx, ExecuteAluGeneric and
/// ExecuteIncDecGeneric: the register source read at the operand size, the immediate as decoded, the lazy-flag record
/// unmasked with the operand size.
/// </summary>
internal sealed partial class BlockEmitter
{
    /// <summary>
    /// Generates instruction <paramref name="i"/> when it is one of the generic memory forms this file knows (outside 64-bit
    /// mode, 16- or 32-bit addressing); false leaves it to the other generators or the interpreter call.
    /// </summary>
    private bool TryEmitWordAddressedInstruction(int i, ref DecodedInstruction d) => WordAddressedInstruction(i, ref d, emit: true);

    /// <summary>Whether <see cref="TryEmitWordAddressedInstruction"/> generates the instruction (the compiled part's measure).</summary>
    private bool WordAddressedFormFits(ref DecodedInstruction d) => WordAddressedInstruction(-1, ref d, emit: false);

    /// <summary>The one list of word-addressed forms: generates the instruction when <paramref name="emit"/> is set, else only answers.</summary>
    private bool WordAddressedInstruction(int i, ref DecodedInstruction d, bool emit)
    {
        if (_code64 || d.AddrSize is not (2 or 4) || d.Base == DecodedInstruction.RipRegister)
        {
            return false;
        }

        bool memorySource = d.Kind0 == OperandKind.Register && d.Kind1 == OperandKind.Memory;
        bool memoryDestination = d.Kind0 == OperandKind.Memory && d.Kind1 is OperandKind.Register or OperandKind.Immediate;

        // Byte ALU forms are left out: the flag readers generated inline sign-extend 2-, 4- and 8-byte records only.
        bool aluSize = d.OpSize is 2 or 4;
        switch (d.Op)
        {
            case Op.Mov when memorySource && d.OpSize is 1 or 2 or 4:
            case Op.Movzx or Op.Movsx when memorySource && aluSize && d.Size1 is 1 or 2:
                if (emit)
                {
                    EmitWordAddressedLoad(i, ref d);
                }

                return true;
            case Op.Mov when memoryDestination && d.OpSize is 1 or 2 or 4:
                if (emit)
                {
                    EmitStore(i, ref d, d.OpSize);
                }

                return true;
            case Op.Add or Op.Sub or Op.Cmp or Op.And or Op.Or or Op.Xor when memorySource && aluSize:
                if (emit)
                {
                    EmitAluLoad(i, ref d, AluOperation(d.Op), AluRecord(d.Op), writesBack: d.Op != Op.Cmp);
                }

                return true;
            case Op.Add or Op.Sub or Op.Cmp or Op.And or Op.Or or Op.Xor or Op.Test when memoryDestination && aluSize:
                if (emit)
                {
                    EmitAluMemory(i, ref d, AluOperation(d.Op), AluRecord(d.Op), writesBack: d.Op is not (Op.Cmp or Op.Test));
                }

                return true;
            case Op.Inc or Op.Dec when d.Kind0 == OperandKind.Memory && aluSize:
                if (emit)
                {
                    EmitIncDecMemory(i, ref d, increment: d.Op == Op.Inc);
                }

                return true;
            default: return false;
        }
    }

    /// <summary>The IL operation of ADD..TEST (CMP subtracts, TEST ands).</summary>
    private static OpCode AluOperation(Op op) => op switch
    {
        Op.Add => OpCodes.Add,
        Op.Sub or Op.Cmp => OpCodes.Sub,
        Op.And or Op.Test => OpCodes.And,
        Op.Or => OpCodes.Or,
        _ => OpCodes.Xor,
    };

    /// <summary>The lazy-flag record of ADD..TEST.</summary>
    private static LazyOp AluRecord(Op op) => op switch
    {
        Op.Add => LazyOp.Add,
        Op.Sub or Op.Cmp => LazyOp.Sub,
        _ => LazyOp.Logic,
    };

    /// <summary>
    /// Cuts the 32-bit address sum on the stack to 16 bits for 16-bit addressing (Cpu.EffectiveAddress: the offset wraps at
    /// 64 KiB, so [BX+SI] with BX+SI above FFFFh addresses the bottom of the segment).
    /// </summary>
    private void EmitWordAddressWrap(ref DecodedInstruction d)
    {
        if (d.AddrSize == 2)
        {
            _il.Emit(OpCodes.Ldc_I4, (int)WordMask);
            _il.Emit(OpCodes.And);
        }
    }

    /// <summary>
    /// MOV r8/r16/r32, m and MOVZX/MOVSX r16/r32, m8/m16 (Cpu.ExecuteMov, Cpu.ExecuteMovzx): the value read, extended, and
    /// written at the operand size (a 16-bit write keeps bits 16-63, a byte write AH..BH or AL..BL).
    /// </summary>
    private void EmitWordAddressedLoad(int i, ref DecodedInstruction d)
    {
        int size = d.Op == Op.Mov ? d.OpSize : d.Size1;
        EmitEffectiveAddress(i, ref d);
        SlowPath slow = BeginSlowPath(i);
        EmitProbe(d.Seg, size, read: true, write: false, slow.Entry);
        LoadFromHost(ReadHostLocal, size, signExtend: d.Op == Op.Movsx);
        if (d.Op == Op.Mov && size == 1)
        {
            _il.Emit(OpCodes.Stloc, ValueLocal);
            StoreByteRegister(d.Reg0);
        }
        else
        {
            StoreRegister(d.Reg0, d.OpSize);
        }

        EndSlowPath(slow);
    }

    /// <summary>
    /// Whether PUSH/POP/CALL/RET of this operand size are generated: the stack width of the mode (32 bits outside 64-bit
    /// mode, 64 in it), or outside 64-bit mode 16 bits (real-mode and 16-bit code on a 16-bit stack; the width is checked at
    /// run time, see EmitStackWidthCheck).
    /// </summary>
    private bool StackSizeFits(int opSize, int stackSize) => opSize == stackSize || (!_code64 && opSize == 2);
}
