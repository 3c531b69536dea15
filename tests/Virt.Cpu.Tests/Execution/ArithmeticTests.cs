using System.Numerics;
using FsCheck.Xunit;
using Xunit;
using static Iced.Intel.AssemblerRegisters;
using static Virt.Cpu.Tests.Execution.SdmReference;

namespace Virt.Cpu.Tests.Execution;

/// <summary>
/// The arithmetic family (ADD, ADC, SUB, SBB, CMP, INC, DEC, NEG, MUL, IMUL, DIV, IDIV, the BCD adjusts, XADD, CMPXCHG) at 8,
/// 16 and 32 bits against <see cref="SdmReference"/>. The operands come from the assembly's full-range generators, so carries,
/// signed overflows, negative operands and divide errors all occur (<see cref="FullRangeGeneratorTests"/> checks that).
/// </summary>
public sealed class ArithmeticTests
{
    private static readonly AluOp[] s_arithmetic = [AluOp.Add, AluOp.Adc, AluOp.Sub, AluOp.Sbb, AluOp.Cmp];

    private readonly CpuHarness _machine = new();

    [Property(MaxTest = 400)]
    public void Binary_arithmetic_matches_the_reference(byte opSelector, uint a, uint b, bool carryIn, byte sizeSelector)
    {
        AluOp op = s_arithmetic[opSelector % s_arithmetic.Length];
        int size = 1 << (sizeSelector % 3);
        (ulong result, uint flags) = AluGuest.RunBinary(_machine, op, size, a, b, carryIn);
        (ulong expected, uint expectedFlags, uint defined) = SdmReference.Binary(op, size, a, b, carryIn);
        Assert.Equal(expected, result);
        Assert.Equal(expectedFlags & defined, flags & defined);
    }

    [Property(MaxTest = 300)]
    public void Inc_dec_neg_match_the_reference(uint a, bool carryIn, byte sizeSelector, byte which)
    {
        int size = 1 << (sizeSelector % 3);
        int kind = which % 3;
        ulong mask = Mask(size);
        ulong x = a & mask;
        _machine.Run(asm =>
        {
            asm.mov(eax, (uint)x);
            AluGuest.SetCarry(asm, carryIn);
            switch ((kind, size))
            {
                case (0, 1): asm.inc(al); break;
                case (0, 2): asm.inc(ax); break;
                case (0, _): asm.inc(eax); break;
                case (1, 1): asm.dec(al); break;
                case (1, 2): asm.dec(ax); break;
                case (1, _): asm.dec(eax); break;
                case (_, 1): asm.neg(al); break;
                case (_, 2): asm.neg(ax); break;
                default: asm.neg(eax); break;
            }

            asm.hlt();
        });
        ulong result = _machine.Reg(GeneralRegister.Rax) & mask;
        uint flags = _machine.Cpu.Flags & AllStatus;

        // INC and DEC are ADD/SUB of 1 that keep CF (Vol. 2A, INC/DEC); NEG is 0 - x with CF = (x != 0) (Vol. 2B, NEG).
        (ulong expected, uint f, _) = kind switch
        {
            0 => SdmReference.Binary(AluOp.Add, size, x, 1, carryIn: false),
            1 => SdmReference.Binary(AluOp.Sub, size, x, 1, carryIn: false),
            _ => SdmReference.Binary(AluOp.Sub, size, 0, x, carryIn: false),
        };
        if (kind != 2)
        {
            f = (f & ~Cf) | (carryIn ? Cf : 0);
        }

        Assert.Equal(expected, result);
        Assert.Equal(f, flags);
    }

    [Property(MaxTest = 300)]
    public void Multiply_matches_the_reference(uint a, uint b, byte sizeSelector, bool signed)
    {
        int size = 1 << (sizeSelector % 3);
        ulong mask = Mask(size);
        ulong x = a & mask;
        ulong y = b & mask;
        _machine.Run(asm =>
        {
            asm.mov(eax, (uint)x);
            asm.mov(ebx, (uint)y);
            asm.mov(edx, 0xDEADBEEF);
            switch ((signed, size))
            {
                case (false, 1): asm.mul(bl); break;
                case (false, 2): asm.mul(bx); break;
                case (false, _): asm.mul(ebx); break;
                case (true, 1): asm.imul(bl); break;
                case (true, 2): asm.imul(bx); break;
                default: asm.imul(ebx); break;
            }

            asm.hlt();
        });
        BigInteger product = signed ? SignedMultiply(x, y, size).Product : (BigInteger)x * y;
        ulong wide = (ulong)(product & ((BigInteger.One << (16 * size)) - 1));
        int bits = size * 8;
        ulong low = wide & mask;
        ulong high = wide >> bits;
        ulong actualLow = _machine.Reg(GeneralRegister.Rax) & mask;
        ulong actualHigh = size == 1 ? (_machine.Reg(GeneralRegister.Rax) >> 8) & 0xFF : _machine.Reg(GeneralRegister.Rdx) & mask;
        Assert.Equal(low, actualLow);
        Assert.Equal(high, actualHigh);

        // MUL: CF = OF = upper half non-zero; IMUL: CF = OF = the product does not fit the lower half (Vol. 2A/2B).
        bool overflow = signed ? SignedMultiply(x, y, size).Overflow : high != 0;
        Assert.Equal(overflow ? Cf | Of : 0, _machine.Cpu.Flags & (Cf | Of));
    }

    /// <summary>IMUL with 32-bit operands in its three forms: EDX:EAX = EAX * r/m32; r32 = r32 * r/m32; r32 = r/m32 * imm32.</summary>
    [Property(MaxTest = 400)]
    public void Imul_32_bit_forms_match_the_reference(uint a, uint b, byte form)
    {
        int shape = form % 3;
        _machine.Run(asm =>
        {
            asm.mov(eax, a);
            asm.mov(ebx, b);
            asm.mov(edx, 0xDEADBEEF);
            switch (shape)
            {
                case 0: asm.imul(ebx); break;
                case 1: asm.imul(eax, ebx); break;
                default: asm.imul(eax, ebx, (int)a); break;
            }

            asm.hlt();
        });
        (BigInteger product, bool overflow) = SignedMultiply(a, b, 4);
        ulong productBits = (ulong)(product & ulong.MaxValue);
        Assert.Equal((uint)productBits, (uint)_machine.Reg(GeneralRegister.Rax));
        Assert.Equal(shape == 0 ? (uint)(productBits >> 32) : 0xDEADBEEF, (uint)_machine.Reg(GeneralRegister.Rdx));
        Assert.Equal(overflow ? Cf | Of : 0, _machine.Cpu.Flags & (Cf | Of));
    }

    [Property(MaxTest = 300)]
    public void Divide_matches_the_reference_or_raises_divide_error(uint a, uint high, uint b, byte sizeSelector, bool signed)
    {
        int size = 1 << (sizeSelector % 3);
        ulong mask = Mask(size);
        ulong divisor = b & mask;
        ulong lowPart = a & mask;
        ulong highPart = high & mask;
        _machine.Load(asm =>
        {
            asm.mov(eax, (uint)lowPart);
            asm.mov(edx, (uint)highPart);
            if (size == 1)
            {
                asm.mov(ah, (byte)highPart);
            }

            asm.mov(ebx, (uint)divisor);
            switch ((signed, size))
            {
                case (false, 1): asm.div(bl); break;
                case (false, 2): asm.div(bx); break;
                case (false, _): asm.div(ebx); break;
                case (true, 1): asm.idiv(bl); break;
                case (true, 2): asm.idiv(bx); break;
                default: asm.idiv(ebx); break;
            }

            asm.hlt();
        });
        _machine.InstallHaltHandler(0);
        Assert.Equal(StopReason.Halted, _machine.Cpu.Run(100));
        int bits = size * 8;
        BigInteger dividend = size == 1 ? (BigInteger)((highPart << 8) | lowPart) : ((BigInteger)highPart << bits) | lowPart;
        BigInteger q = 0;
        BigInteger r = 0;
        bool expectFault;
        if (signed)
        {
            if (dividend >= BigInteger.One << ((2 * bits) - 1))
            {
                dividend -= BigInteger.One << (2 * bits);
            }

            (long Quotient, long Remainder)? s = SignedDivide(dividend, SignExtend(divisor, size), size);
            expectFault = s is null;
            (q, r) = s is { } v ? (v.Quotient, v.Remainder) : (0, 0);
        }
        else
        {
            expectFault = divisor == 0 || dividend / divisor >= BigInteger.One << bits;
            if (!expectFault)
            {
                q = BigInteger.DivRem(dividend, divisor, out r);
            }
        }

        bool faulted = _machine.Cpu.Eip == CpuHarness.HaltHandlerReturn(0);
        Assert.Equal(expectFault, faulted);
        if (!expectFault)
        {
            ulong qBits = (ulong)(q & (BigInteger)mask);
            ulong rBits = (ulong)(r & (BigInteger)mask);
            if (size == 1)
            {
                Assert.Equal((rBits << 8) | qBits, _machine.Reg(GeneralRegister.Rax) & 0xFFFF);
            }
            else
            {
                Assert.Equal(qBits, _machine.Reg(GeneralRegister.Rax) & mask);
                Assert.Equal(rBits, _machine.Reg(GeneralRegister.Rdx) & mask);
            }
        }
    }

    /// <summary>
    /// IDIV r/m32 (Vol. 2A, IDIV): EDX:EAX / SRC truncated toward zero, the remainder takes the dividend's sign; #DE for a zero
    /// divisor or a quotient outside -2^31..2^31-1, as a fault: EAX and EDX unchanged and the pushed IP is the IDIV's own.
    /// Half the cases sign-extend EAX into EDX (mostly representable quotients), half take EDX at random (mostly overflows).
    /// </summary>
    [Property(MaxTest = 400)]
    public void Idiv_32_bit_matches_the_reference_or_raises_divide_error(uint low, uint high, uint divisor, bool signExtendDividend)
    {
        uint edx = signExtendDividend ? (uint)((int)low >> 31) : high;
        _machine.Load(asm =>
        {
            asm.idiv(ebx);
            asm.hlt();
        });
        _machine.InstallHaltHandler(0);
        _machine.Cpu.SetRegister(GeneralRegister.Rax, low);
        _machine.Cpu.SetRegister(GeneralRegister.Rdx, edx);
        _machine.Cpu.SetRegister(GeneralRegister.Rbx, divisor);
        Assert.Equal(StopReason.Halted, _machine.Cpu.Run(100));

        BigInteger dividend = (long)(((ulong)edx << 32) | low);
        (long Quotient, long Remainder)? expected = SignedDivide(dividend, (int)divisor, 4);
        if (expected is { } v)
        {
            Assert.Equal(CpuHarness.CodeOffset + 4u, _machine.Cpu.Eip); // 66 F7 FB (idiv ebx) then HLT
            Assert.Equal((uint)v.Quotient, (uint)_machine.Reg(GeneralRegister.Rax));
            Assert.Equal((uint)v.Remainder, (uint)_machine.Reg(GeneralRegister.Rdx));
        }
        else
        {
            Assert.Equal(CpuHarness.HaltHandlerReturn(0), _machine.Cpu.Eip);
            Assert.Equal(low, (uint)_machine.Reg(GeneralRegister.Rax));
            Assert.Equal(edx, (uint)_machine.Reg(GeneralRegister.Rdx));
            Assert.Equal(0x7FFAUL, _machine.Reg(GeneralRegister.Rsp));
            Assert.Equal(CpuHarness.CodeOffset, _machine.Word(0x7FFA));
        }
    }

    [Theory]
    [InlineData(0xFFFF_FFFFu, 0x8000_0000u, 0xFFFF_FFFFu)] // -2^31 / -1 = 2^31 does not fit: #DE
    [InlineData(0x0000_0000u, 0x8000_0000u, 0x0000_0002u)] // EDX:EAX = 0:80000000h is +2^31; / 2 = 2^30 fits
    [InlineData(0x0000_0001u, 0x0000_0000u, 0x0000_0002u)] // (2^32) / 2 = 2^31 does not fit: #DE
    [InlineData(0x1234_5678u, 0x9ABC_DEF0u, 0x0000_0000u)] // divide by zero: #DE
    public void Idiv_32_bit_edge_cases(uint edx, uint eax, uint divisor)
    {
        Idiv_32_bit_matches_the_reference_or_raises_divide_error(eax, edx, divisor, signExtendDividend: false);
    }

    [Fact]
    public void Idiv_32_bit_truncates_toward_zero_and_the_remainder_takes_the_dividend_sign()
    {
        // -7 / 2 = -3 remainder -1 (Vol. 2A, IDIV: "truncated toward 0"; the remainder has the sign of the dividend).
        _machine.Load(asm =>
        {
            asm.idiv(ebx);
            asm.hlt();
        });
        _machine.Cpu.SetRegister(GeneralRegister.Rax, 0xFFFF_FFF9);
        _machine.Cpu.SetRegister(GeneralRegister.Rdx, 0xFFFF_FFFF);
        _machine.Cpu.SetRegister(GeneralRegister.Rbx, 2);
        Assert.Equal(StopReason.Halted, _machine.Cpu.Run(10));
        Assert.Equal(0xFFFF_FFFDUL, _machine.Reg(GeneralRegister.Rax));
        Assert.Equal(0xFFFF_FFFFUL, _machine.Reg(GeneralRegister.Rdx));
    }

    [Fact]
    public void Adc_with_carry_and_all_ones_sets_carry_and_keeps_the_operand()
    {
        // Fixed case: 0xFF + 0xFF + 1 = 0x1FF -> AL = FF, CF = 1, AF = 1 (0xF + 0xF + 1 > 0xF).
        (ulong result, uint flags) = AluGuest.RunBinary(_machine, AluOp.Adc, 1, 0xFF, 0xFF, carryIn: true);
        Assert.Equal(0xFFUL, result);
        Assert.Equal(Cf | Af | Sf | Pf, flags & AllStatus);
    }

    [Fact]
    public void Xadd_cmpxchg_and_cmpxchg8b()
    {
        _machine.Memory.WriteQuadWord(new Virt.Memory.PhysicalAddress(0x600), 0x1111111122222222);
        _machine.Run(a =>
        {
            a.xor(ax, ax);
            a.mov(ds, ax);
            a.mov(eax, 0x22222222);
            a.mov(edx, 0x11111111);
            a.mov(ebx, 0x44444444);
            a.mov(ecx, 0x33333333);
            a.cmpxchg8b(__qword_ptr[0x600]);
            a.setz(__byte_ptr[0x610]);
            a.mov(si, 5);
            a.mov(di, 10);
            a.xadd(si, di);
            a.mov(ax, 1);
            a.mov(bx, 9);
            a.mov(cx, 1);
            a.cmpxchg(cx, bx);
            a.hlt();
        });
        Assert.Equal(0x3333333344444444UL, _machine.Memory.ReadQuadWord(new Virt.Memory.PhysicalAddress(0x600)));
        Assert.Equal(1, _machine.Memory.ReadByte(new Virt.Memory.PhysicalAddress(0x610)));
        Assert.Equal(15UL, _machine.Reg(GeneralRegister.Rsi) & 0xFFFF);
        Assert.Equal(5UL, _machine.Reg(GeneralRegister.Rdi) & 0xFFFF);
        Assert.Equal(9UL, _machine.Reg(GeneralRegister.Rcx) & 0xFFFF);
    }

    [Fact]
    public void Bcd_adjusts_and_aam_zero()
    {
        _machine.Run(a =>
        {
            a.mov(al, 0x19);
            a.add(al, 0x28);
            a.daa();
            a.mov(bl, al);
            a.mov(ax, 0x0009);
            a.add(al, 0x05);
            a.aaa();
            a.mov(cx, ax);
            a.mov(al, 77);
            a.aam(10);
            a.hlt();
        });
        Assert.Equal(0x47UL, _machine.Reg(GeneralRegister.Rbx) & 0xFF);
        Assert.Equal(0x0104UL, _machine.Reg(GeneralRegister.Rcx) & 0xFFFF);
        Assert.Equal(0x0707UL, _machine.Reg(GeneralRegister.Rax) & 0xFFFF);

        // AAM 0 is #DE as a fault (Vol. 2A, AAM): the pushed IP is the AAM's own and AX is unchanged.
        _machine.Load(a =>
        {
            a.aam(0);
            a.hlt();
        });
        _machine.InstallHaltHandler(0);
        _machine.Cpu.SetRegister(GeneralRegister.Rax, 0x1234);
        _machine.Cpu.Run(10);
        Assert.Equal(CpuHarness.HaltHandlerReturn(0), _machine.Cpu.Eip);
        Assert.Equal(CpuHarness.CodeOffset, _machine.Word(0x7FFA));
        Assert.Equal(0x1234UL, _machine.Reg(GeneralRegister.Rax));
    }
}
