using FsCheck.Xunit;
using Xunit;
using static Iced.Intel.AssemblerRegisters;
using static Virt.Cpu.Tests.Execution.SdmReference;

namespace Virt.Cpu.Tests.Execution;

/// <summary>The logic family (AND, OR, XOR, TEST, the bit tests, BSF/BSR, SETcc, CMOVcc) against the SDM's definitions.</summary>
public sealed class LogicTests
{
    private static readonly AluOp[] s_logic = [AluOp.And, AluOp.Or, AluOp.Xor, AluOp.Test];

    private readonly CpuHarness _machine = new();

    [Property(MaxTest = 300)]
    public void Binary_logic_matches_the_reference(byte opSelector, uint a, uint b, bool carryIn, byte sizeSelector)
    {
        AluOp op = s_logic[opSelector % s_logic.Length];
        int size = 1 << (sizeSelector % 3);
        (ulong result, uint flags) = AluGuest.RunBinary(_machine, op, size, a, b, carryIn);
        (ulong expected, uint expectedFlags, uint defined) = SdmReference.Binary(op, size, a, b, carryIn);
        Assert.Equal(expected, result);

        // CF and OF are cleared whatever the carry in (Vol. 2A, AND); AF is undefined.
        Assert.Equal(expectedFlags & defined, flags & defined);
    }

    [Property(MaxTest = 300)]
    public void Bit_test_family_matches_the_reference(uint a, byte bitSelector, byte opSelector, bool wide)
    {
        int size = wide ? 4 : 2;
        int op = opSelector % 4;
        ulong mask = Mask(size);
        ulong value = a & mask;
        int bit = bitSelector;
        _machine.Run(asm =>
        {
            asm.mov(eax, (uint)value);
            asm.mov(ebx, (uint)bit);
            switch ((op, wide))
            {
                case (0, false): asm.bt(ax, bx); break;
                case (1, false): asm.bts(ax, bx); break;
                case (2, false): asm.btr(ax, bx); break;
                case (3, false): asm.btc(ax, bx); break;
                case (0, true): asm.bt(eax, ebx); break;
                case (1, true): asm.bts(eax, ebx); break;
                case (2, true): asm.btr(eax, ebx); break;
                default: asm.btc(eax, ebx); break;
            }

            asm.hlt();
        });

        // Register operand: the bit offset is taken modulo the operand size (Intel SDM Vol. 2A, BT).
        int b = bit % (size * 8);
        bool expectedCf = ((value >> b) & 1) != 0;
        ulong expected = op switch
        {
            1 => value | (1UL << b),
            2 => value & ~(1UL << b),
            3 => value ^ (1UL << b),
            _ => value,
        };
        Assert.Equal(expected, _machine.Reg(GeneralRegister.Rax) & mask);
        Assert.Equal(expectedCf, (_machine.Cpu.Flags & Cf) != 0);
    }

    [Fact]
    public void Conditional_moves_sets_and_bit_instructions()
    {
        _machine.Run(a =>
        {
            a.mov(eax, 0x00F0);
            a.bsf(ebx, eax);
            a.bsr(ecx, eax);
            a.bts(eax, 0);
            a.cmp(eax, 0xF1);
            a.sete(dl);
            a.mov(esi, 7);
            a.cmovne(esi, ebx);
            a.cmove(edi, ecx);
            a.hlt();
        });
        Assert.Equal(4UL, _machine.Reg(GeneralRegister.Rbx));
        Assert.Equal(7UL, _machine.Reg(GeneralRegister.Rcx));
        Assert.Equal(0xF1UL, _machine.Reg(GeneralRegister.Rax));
        Assert.Equal(1UL, _machine.Reg(GeneralRegister.Rdx) & 0xFF);
        Assert.Equal(7UL, _machine.Reg(GeneralRegister.Rsi));
        Assert.Equal(7UL, _machine.Reg(GeneralRegister.Rdi));
    }
}
