using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;
using static Virt.Cpu.Tests.Execution.SdmReference;

namespace Virt.Cpu.Tests.Execution;

/// <summary>Guest snippets shared by the instruction-family tests: one ALU, shift or rotate instruction on AL/AX/EAX.</summary>
internal static class AluGuest
{
    /// <summary>Runs <c>op eAX, eBX</c> with the given operands and carry; returns the destination and the six status flags.</summary>
    public static (ulong Result, uint Flags) RunBinary(CpuHarness machine, AluOp op, int size, uint a, uint b, bool carryIn)
    {
        machine.Run(asm =>
        {
            asm.mov(eax, a);
            asm.mov(ebx, b);
            SetCarry(asm, carryIn);
            EmitBinary(asm, op, size);
            asm.hlt();
        });
        return (machine.Reg(GeneralRegister.Rax) & Mask(size), machine.Cpu.Flags & AllStatus);
    }

    public static void SetCarry(Assembler asm, bool carry)
    {
        if (carry)
        {
            asm.stc();
        }
        else
        {
            asm.clc();
        }
    }

    public static void EmitBinary(Assembler asm, AluOp op, int size)
    {
        switch (size)
        {
            case 1:
                switch (op)
                {
                    case AluOp.Add: asm.add(al, bl); break;
                    case AluOp.Adc: asm.adc(al, bl); break;
                    case AluOp.Sub: asm.sub(al, bl); break;
                    case AluOp.Sbb: asm.sbb(al, bl); break;
                    case AluOp.Cmp: asm.cmp(al, bl); break;
                    case AluOp.And: asm.and(al, bl); break;
                    case AluOp.Or: asm.or(al, bl); break;
                    case AluOp.Xor: asm.xor(al, bl); break;
                    default: asm.test(al, bl); break;
                }

                break;
            case 2:
                switch (op)
                {
                    case AluOp.Add: asm.add(ax, bx); break;
                    case AluOp.Adc: asm.adc(ax, bx); break;
                    case AluOp.Sub: asm.sub(ax, bx); break;
                    case AluOp.Sbb: asm.sbb(ax, bx); break;
                    case AluOp.Cmp: asm.cmp(ax, bx); break;
                    case AluOp.And: asm.and(ax, bx); break;
                    case AluOp.Or: asm.or(ax, bx); break;
                    case AluOp.Xor: asm.xor(ax, bx); break;
                    default: asm.test(ax, bx); break;
                }

                break;
            default:
                switch (op)
                {
                    case AluOp.Add: asm.add(eax, ebx); break;
                    case AluOp.Adc: asm.adc(eax, ebx); break;
                    case AluOp.Sub: asm.sub(eax, ebx); break;
                    case AluOp.Sbb: asm.sbb(eax, ebx); break;
                    case AluOp.Cmp: asm.cmp(eax, ebx); break;
                    case AluOp.And: asm.and(eax, ebx); break;
                    case AluOp.Or: asm.or(eax, ebx); break;
                    case AluOp.Xor: asm.xor(eax, ebx); break;
                    default: asm.test(eax, ebx); break;
                }

                break;
        }
    }

    public static void EmitShift(Assembler asm, ShiftOp op, int size)
    {
        switch (size)
        {
            case 1:
                switch (op)
                {
                    case ShiftOp.Rol: asm.rol(al, cl); break;
                    case ShiftOp.Ror: asm.ror(al, cl); break;
                    case ShiftOp.Rcl: asm.rcl(al, cl); break;
                    case ShiftOp.Rcr: asm.rcr(al, cl); break;
                    case ShiftOp.Shl: asm.shl(al, cl); break;
                    case ShiftOp.Shr: asm.shr(al, cl); break;
                    default: asm.sar(al, cl); break;
                }

                break;
            case 2:
                switch (op)
                {
                    case ShiftOp.Rol: asm.rol(ax, cl); break;
                    case ShiftOp.Ror: asm.ror(ax, cl); break;
                    case ShiftOp.Rcl: asm.rcl(ax, cl); break;
                    case ShiftOp.Rcr: asm.rcr(ax, cl); break;
                    case ShiftOp.Shl: asm.shl(ax, cl); break;
                    case ShiftOp.Shr: asm.shr(ax, cl); break;
                    default: asm.sar(ax, cl); break;
                }

                break;
            default:
                switch (op)
                {
                    case ShiftOp.Rol: asm.rol(eax, cl); break;
                    case ShiftOp.Ror: asm.ror(eax, cl); break;
                    case ShiftOp.Rcl: asm.rcl(eax, cl); break;
                    case ShiftOp.Rcr: asm.rcr(eax, cl); break;
                    case ShiftOp.Shl: asm.shl(eax, cl); break;
                    case ShiftOp.Shr: asm.shr(eax, cl); break;
                    default: asm.sar(eax, cl); break;
                }

                break;
        }
    }
}
