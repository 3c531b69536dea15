using Virt.Cpu.Decoding;
using A = Virt.Cpu.Cpu.CompiledArithMembers;

namespace Virt.Cpu;

/// <summary>
/// The register forms generated beyond MOV, ADD..TEST, INC, DEC and LEA: shifts and rotates (BlockEmitter.Shift.cs), ADC,
/// SBB, NEG, NOT, IMUL and the bit tests (BlockEmitter.Arith.cs), MOVZX/MOVSX, XCHG, the CBW/CWD family, SETcc and CMOVcc
/// (BlockEmitter.Move.cs), with 16-, 32- and 64-bit operands (bytes for SETcc) and register or immediate operands only, so
/// none of them can fault. Each does what the interpreter's handler does, to the lazy-flag record included; the flag
/// liveness pass (BlockEmitter.Liveness.cs) learns from <see cref="RegisterFormEffect"/> what each reads and writes.
/// </summary>
internal sealed partial class BlockEmitter
{
    /// <summary>Whether the instruction is one of the register forms this file's generators know.</summary>
    private static bool IsGeneratedRegisterForm(in DecodedInstruction d)
    {
        bool registerDestination = d.Kind0 == OperandKind.Register;
        bool wide = d.OpSize is 2 or 4 or 8;
        bool registerOrImmediate = d.Kind1 is OperandKind.Register or OperandKind.Immediate;
        return d.Op switch
        {
            // The 16-bit forms go through Cpu.ExecuteShift; the 32- and 64-bit ones are the translator's register forms.
            Op.Shl or Op.Shr or Op.Sar => registerDestination && d.OpSize == 2 && (d.Kind1 == OperandKind.Immediate || IsCountRegister(in d)),
            Op.ShlRegister32 or Op.ShrRegister32 or Op.SarRegister32 or Op.ShlRegister64 or Op.ShrRegister64 or Op.SarRegister64 =>
                d.Kind1 == OperandKind.Immediate || IsCountRegister(in d),
            Op.Rol or Op.Ror => registerDestination && wide && d.Kind1 == OperandKind.Immediate,
            Op.Adc or Op.Sbb or Op.Bt or Op.Bts or Op.Btr or Op.Btc => registerDestination && wide && registerOrImmediate,
            Op.Neg or Op.Not => registerDestination && wide,
            Op.ImulRegister32 or Op.ImulRegister64 => true,
            Op.Imul2 or Op.Imul3 => registerDestination && d.OpSize == 2 && d.Kind1 == OperandKind.Register,
            Op.Movzx or Op.Movsx => registerDestination && wide && d.Kind1 == OperandKind.Register && d.Size1 is 1 or 2 or 4,
            Op.Xchg or Op.Cmovcc => registerDestination && wide && d.Kind1 == OperandKind.Register,
            Op.Cbw or Op.Cwde or Op.Cdqe or Op.Cwd or Op.Cdq or Op.Cqo => true,
            Op.Setcc => registerDestination,
            _ => false,
        };
    }

    /// <summary>The count operand is CL (Iced reports it as byte register 1).</summary>
    private static bool IsCountRegister(in DecodedInstruction d) =>
        d.Kind1 == OperandKind.Register && d.Reg1 == A.CountRegister && d.Size1 == 1;

    /// <summary>What a register form of this file does to the lazy-flag record (see BlockEmitter.Liveness.cs).</summary>
    private static FlagEffect RegisterFormEffect(in DecodedInstruction d)
    {
        switch (d.Op)
        {
            case Op.Shl or Op.Shr or Op.Sar or Op.ShlRegister32 or Op.ShrRegister32 or Op.SarRegister32 or Op.ShlRegister64
                or Op.ShrRegister64 or Op.SarRegister64:
                // A count known to be 0 changes nothing; any other immediate count writes the operation, result and size
                // (Cpu.SetShiftFlags leaves the operands). A CL count may be 0 at run time, leaving the previous record whole.
                return d.Kind1 != OperandKind.Immediate ? FlagEffect.Reads
                    : ImmediateShiftCount(in d) == 0 ? FlagEffect.None : FlagEffect.WritesResult;
            case Op.Rol or Op.Ror:
                // Cpu.ExecuteShift folds the record into EFLAGS (GetFlags) before replacing CF and OF.
                return ImmediateShiftCount(in d) == 0 ? FlagEffect.None : FlagEffect.Reads;
            case Op.Adc or Op.Sbb:
                return FlagEffect.ReadsThenWritesAll;
            case Op.Neg:
                return FlagEffect.WritesAll;
            case Op.Not or Op.Movzx or Op.Movsx or Op.Xchg or Op.Cbw or Op.Cwde or Op.Cdqe or Op.Cwd or Op.Cdq or Op.Cqo:
                return FlagEffect.None;
            default:
                // IMUL (SetStatusFlags: LazyOp None, the rest of the record stays visible), the bit tests (GetFlags),
                // SETcc and CMOVcc (Condition): the previous record is read or left visible whole.
                return FlagEffect.Reads;
        }
    }

    /// <summary>The masked count of a shift or rotate by an immediate (Intel SDM Vol. 2B, SAL/SAR/SHL/SHR: 5 bits, 6 with a 64-bit operand).</summary>
    private static int ImmediateShiftCount(in DecodedInstruction d) => (int)(d.Imm & (d.OpSize == 8 ? 0x3FUL : 0x1FUL));

    /// <summary>Generates the instruction when it is a register form of this file; false leaves it to the others.</summary>
    private bool TryEmitRegisterForm(ref DecodedInstruction d)
    {
        if (!IsGeneratedRegisterForm(in d))
        {
            return false;
        }

        switch (d.Op)
        {
            case Op.Shl or Op.Shr or Op.Sar or Op.ShlRegister32 or Op.ShrRegister32 or Op.SarRegister32 or Op.ShlRegister64
                or Op.ShrRegister64 or Op.SarRegister64:
                EmitShift(ref d);
                break;
            case Op.Rol or Op.Ror: EmitRotate(ref d); break;
            case Op.Adc: EmitAddWithCarry(ref d, subtract: false); break;
            case Op.Sbb: EmitAddWithCarry(ref d, subtract: true); break;
            case Op.Neg: EmitNeg(ref d); break;
            case Op.Not: EmitNot(ref d); break;
            case Op.ImulRegister32 or Op.ImulRegister64 or Op.Imul2 or Op.Imul3: EmitImul(ref d); break;
            case Op.Bt or Op.Bts or Op.Btr or Op.Btc: EmitBitTest(ref d); break;
            case Op.Movzx or Op.Movsx: EmitMoveExtend(ref d); break;
            case Op.Xchg: EmitExchange(ref d); break;
            case Op.Cbw or Op.Cwde or Op.Cdqe: EmitAccumulatorExtend(d.Op); break;
            case Op.Cwd or Op.Cdq or Op.Cqo: EmitAccumulatorSign(d.Op); break;
            case Op.Setcc: EmitSetcc(ref d); break;
            default: EmitCmovcc(ref d); break;
        }

        return true;
    }
}
