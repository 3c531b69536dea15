using System.Numerics;
using FsCheck;
using FsCheck.Xunit;
using Iced.Intel;
using Xunit;
using static Iced.Intel.AssemblerRegisters;

namespace Virt.Cpu.Tests;

/// <summary>
/// Results and the six status flags of the ALU, shift, multiply and divide instructions at 8, 16 and 32 bits against a slow,
/// obviously-correct reference model (bit-by-bit definitions from Intel SDM Vol. 1, 3.4.3.1 and the Vol. 2 instruction pages).
/// </summary>
public sealed class AluPropertyTests
{
    private const uint Cf = 1;
    private const uint Pf = 4;
    private const uint Af = 0x10;
    private const uint Zf = 0x40;
    private const uint Sf = 0x80;
    private const uint Of = 0x800;
    private const uint AllStatus = Cf | Pf | Af | Zf | Sf | Of;

    private readonly CpuHarness _machine = new();

    public enum AluOp
    {
        Add,
        Adc,
        Sub,
        Sbb,
        Cmp,
        And,
        Or,
        Xor,
        Test,
    }

    [Property(MaxTest = 300)]
    public void Binary_alu_matches_the_reference(AluOp op, uint a, uint b, bool carryIn, byte sizeSelector)
    {
        int size = 1 << (sizeSelector % 3);
        (ulong result, uint flags) = RunBinary(op, size, a, b, carryIn);
        (ulong expected, uint expectedFlags, uint defined) = ReferenceBinary(op, size, a, b, carryIn);
        Assert.Equal(expected, result);
        Assert.Equal(expectedFlags & defined, flags & defined);
    }

    [Property(MaxTest = 200)]
    public void Inc_dec_neg_match_the_reference(uint a, bool carryIn, byte sizeSelector, byte which)
    {
        int size = 1 << (sizeSelector % 3);
        int kind = which % 3;
        ulong mask = Mask(size);
        ulong x = a & mask;
        _machine.Run(asm =>
        {
            asm.mov(eax, (uint)x);
            if (carryIn)
            {
                asm.stc();
            }
            else
            {
                asm.clc();
            }

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
        ulong expected;
        uint f;
        if (kind == 0)
        {
            expected = (x + 1) & mask;
            f = (carryIn ? Cf : 0) | (x == Mask(size) >> 1 ? Of : 0) | ((x & 0xF) == 0xF ? Af : 0);
        }
        else if (kind == 1)
        {
            expected = (x - 1) & mask;
            f = (carryIn ? Cf : 0) | (x == (Mask(size) >> 1) + 1 ? Of : 0) | ((x & 0xF) == 0 ? Af : 0);
        }
        else
        {
            expected = (0 - x) & mask;
            f = (x != 0 ? Cf : 0) | (x == (Mask(size) >> 1) + 1 ? Of : 0) | ((x & 0xF) != 0 ? Af : 0);
        }

        f |= Szp(expected, size);
        Assert.Equal(expected, result);
        Assert.Equal(f, flags);
    }

    [Property(MaxTest = 300)]
    public void Shifts_and_rotates_match_the_reference(byte opSelector, uint a, byte countSelector, bool carryIn, byte sizeSelector)
    {
        int size = 1 << (sizeSelector % 3);
        int op = opSelector % 7;
        int count = countSelector % 32;
        ulong mask = Mask(size);
        ulong x = a & mask;
        _machine.Run(asm =>
        {
            asm.mov(eax, (uint)x);
            asm.mov(cl, (byte)count);
            if (carryIn)
            {
                asm.stc();
            }
            else
            {
                asm.clc();
            }

            EmitShift(asm, op, size);
            asm.hlt();
        });
        ulong result = _machine.Reg(GeneralRegister.Rax) & mask;
        uint flags = _machine.Cpu.Flags & AllStatus;
        (ulong expected, bool cf, bool of) = ReferenceShift(op, size, x, count, carryIn);
        Assert.Equal(expected, result);
        if (count == 0)
        {
            Assert.Equal(carryIn ? Cf : 0, flags & Cf);
            return;
        }

        bool isRotate = op <= 3;
        bool cfDefined = isRotate || count <= size * 8;
        if (cfDefined)
        {
            Assert.Equal(cf, (flags & Cf) != 0);
        }

        if (count == 1)
        {
            Assert.Equal(of, (flags & Of) != 0);
        }

        if (!isRotate)
        {
            Assert.Equal(Szp(expected, size), flags & (Sf | Zf | Pf));
        }
    }

    [Property(MaxTest = 200)]
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
        BigInteger product = signed ? (BigInteger)SignExtend(x, size) * SignExtend(y, size) : (BigInteger)x * y;
        ulong wide = (ulong)(product & ((BigInteger.One << (16 * size)) - 1));
        int bits = size * 8;
        ulong low = wide & mask;
        ulong high = wide >> bits;
        ulong actualLow = _machine.Reg(GeneralRegister.Rax) & mask;
        ulong actualHigh = size == 1 ? (_machine.Reg(GeneralRegister.Rax) >> 8) & 0xFF : _machine.Reg(GeneralRegister.Rdx) & mask;
        Assert.Equal(low, actualLow);
        Assert.Equal(high, actualHigh);
        bool overflow = signed ? product != SignExtend(low, size) : high != 0;
        Assert.Equal(overflow ? Cf | Of : 0, _machine.Cpu.Flags & (Cf | Of));
    }

    [Property(MaxTest = 200)]
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
        BigInteger d = divisor;
        if (signed)
        {
            if (dividend >= BigInteger.One << ((2 * bits) - 1))
            {
                dividend -= BigInteger.One << (2 * bits);
            }

            d = SignExtend(divisor, size);
        }

        bool expectFault = d.IsZero;
        BigInteger q = 0;
        BigInteger r = 0;
        if (!expectFault)
        {
            q = BigInteger.DivRem(dividend, d, out r);
            expectFault = signed ? q < -(BigInteger.One << (bits - 1)) || q >= BigInteger.One << (bits - 1) : q >= BigInteger.One << bits;
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

    [Property(MaxTest = 200)]
    public void Double_shifts_match_the_reference(uint a, uint b, byte countSelector, bool left, bool wide)
    {
        int size = wide ? 4 : 2;
        int bits = size * 8;

        // Counts above the operand size are undefined (Intel SDM Vol. 2B, SHLD); test 1..size-1 bits.
        int count = 1 + (countSelector % (bits - 1));
        ulong mask = Mask(size);
        ulong dst = a & mask;
        ulong src = b & mask;
        _machine.Run(asm =>
        {
            asm.mov(eax, (uint)dst);
            asm.mov(ebx, (uint)src);
            asm.mov(cl, (byte)count);
            switch ((left, wide))
            {
                case (true, false): asm.shld(ax, bx, cl); break;
                case (true, true): asm.shld(eax, ebx, cl); break;
                case (false, false): asm.shrd(ax, bx, cl); break;
                default: asm.shrd(eax, ebx, cl); break;
            }

            asm.hlt();
        });

        // Reference: shift one bit at a time, filling from the other operand.
        ulong value = dst;
        ulong fill = src;
        bool cf = false;
        for (int i = 0; i < count; i++)
        {
            if (left)
            {
                cf = (value >> (bits - 1) & 1) != 0;
                value = ((value << 1) | (fill >> (bits - 1) & 1)) & mask;
                fill = (fill << 1) & mask;
            }
            else
            {
                cf = (value & 1) != 0;
                value = (value >> 1) | ((fill & 1) << (bits - 1));
                fill >>= 1;
            }
        }

        Assert.Equal(value, _machine.Reg(GeneralRegister.Rax) & mask);
        Assert.Equal(cf, (_machine.Cpu.Flags & Cf) != 0);
        Assert.Equal(Szp(value, size), _machine.Cpu.Flags & (Sf | Zf | Pf));
    }

    [Property(MaxTest = 200)]
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
    public void Adc_with_carry_and_all_ones_sets_carry_and_keeps_the_operand()
    {
        // Fixed case: 0xFF + 0xFF + 1 = 0x1FF -> AL = FF, CF = 1, AF = 1 (0xF + 0xF + 1 > 0xF).
        (ulong result, uint flags) = RunBinary(AluOp.Adc, 1, 0xFF, 0xFF, carryIn: true);
        Assert.Equal(0xFFUL, result);
        Assert.Equal(Cf | Af | Sf | Pf, flags & AllStatus);
    }

    private (ulong Result, uint Flags) RunBinary(AluOp op, int size, uint a, uint b, bool carryIn)
    {
        _machine.Run(asm =>
        {
            asm.mov(eax, a);
            asm.mov(ebx, b);
            if (carryIn)
            {
                asm.stc();
            }
            else
            {
                asm.clc();
            }

            EmitBinary(asm, op, size);
            asm.hlt();
        });
        return (_machine.Reg(GeneralRegister.Rax) & Mask(size), _machine.Cpu.Flags & AllStatus);
    }

    private static void EmitBinary(Assembler asm, AluOp op, int size)
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

    private static void EmitShift(Assembler asm, int op, int size)
    {
        switch (size)
        {
            case 1:
                switch (op)
                {
                    case 0: asm.rol(al, cl); break;
                    case 1: asm.ror(al, cl); break;
                    case 2: asm.rcl(al, cl); break;
                    case 3: asm.rcr(al, cl); break;
                    case 4: asm.shl(al, cl); break;
                    case 5: asm.shr(al, cl); break;
                    default: asm.sar(al, cl); break;
                }

                break;
            case 2:
                switch (op)
                {
                    case 0: asm.rol(ax, cl); break;
                    case 1: asm.ror(ax, cl); break;
                    case 2: asm.rcl(ax, cl); break;
                    case 3: asm.rcr(ax, cl); break;
                    case 4: asm.shl(ax, cl); break;
                    case 5: asm.shr(ax, cl); break;
                    default: asm.sar(ax, cl); break;
                }

                break;
            default:
                switch (op)
                {
                    case 0: asm.rol(eax, cl); break;
                    case 1: asm.ror(eax, cl); break;
                    case 2: asm.rcl(eax, cl); break;
                    case 3: asm.rcr(eax, cl); break;
                    case 4: asm.shl(eax, cl); break;
                    case 5: asm.shr(eax, cl); break;
                    default: asm.sar(eax, cl); break;
                }

                break;
        }
    }

    /// <summary>Reference: big-integer arithmetic and the flag definitions, nothing clever.</summary>
    private static (ulong Result, uint Flags, uint Defined) ReferenceBinary(AluOp op, int size, uint a, uint b, bool carryIn)
    {
        ulong mask = Mask(size);
        ulong x = a & mask;
        ulong y = b & mask;
        int bits = size * 8;
        long sx = SignExtend(x, size);
        long sy = SignExtend(y, size);
        int cin = carryIn ? 1 : 0;
        uint f = 0;
        ulong result;
        uint defined = AllStatus;
        switch (op)
        {
            case AluOp.Add:
            case AluOp.Adc:
                {
                    int c = op == AluOp.Adc ? cin : 0;
                    BigInteger wide = (BigInteger)x + y + c;
                    BigInteger signedSum = (BigInteger)sx + sy + c;
                    result = (ulong)(wide & mask);
                    f |= wide > mask ? Cf : 0;
                    f |= signedSum >= BigInteger.One << (bits - 1) || signedSum < -(BigInteger.One << (bits - 1)) ? Of : 0;
                    f |= (x & 0xF) + (y & 0xF) + (ulong)c > 0xF ? Af : 0;
                    break;
                }

            case AluOp.Sub:
            case AluOp.Sbb:
            case AluOp.Cmp:
                {
                    int c = op == AluOp.Sbb ? cin : 0;
                    BigInteger wide = (BigInteger)x - y - c;
                    BigInteger signedDiff = (BigInteger)sx - sy - c;
                    result = (ulong)(wide & mask);
                    f |= wide < 0 ? Cf : 0;
                    f |= signedDiff >= BigInteger.One << (bits - 1) || signedDiff < -(BigInteger.One << (bits - 1)) ? Of : 0;
                    f |= (long)(x & 0xF) - (long)(y & 0xF) - c < 0 ? Af : 0;
                    break;
                }

            default:
                result = op switch { AluOp.And or AluOp.Test => x & y, AluOp.Or => x | y, _ => x ^ y };

                // AF is undefined after logic instructions (Intel SDM Vol. 2A, AND).
                defined &= ~Af;
                break;
        }

        f |= Szp(result, size);
        if (op is AluOp.Cmp or AluOp.Test)
        {
            result = x;
        }

        return (result, f, defined);
    }

    /// <summary>Reference: one-bit steps, count times (Intel SDM Vol. 2B, SAL/SAR/SHL/SHR and RCL/RCR/ROL/ROR pseudo-code).</summary>
    private static (ulong Result, bool Cf, bool Of) ReferenceShift(int op, int size, ulong x, int count, bool carryIn)
    {
        int bits = size * 8;
        ulong mask = Mask(size);
        ulong msb = 1UL << (bits - 1);
        ulong value = x;
        bool cf = carryIn;
        bool originalMsb = (x & msb) != 0;
        for (int i = 0; i < count; i++)
        {
            switch (op)
            {
                case 0:
                    cf = (value & msb) != 0;
                    value = ((value << 1) | (cf ? 1UL : 0)) & mask;
                    break;
                case 1:
                    cf = (value & 1) != 0;
                    value = (value >> 1) | (cf ? msb : 0);
                    break;
                case 2:
                    {
                        bool outBit = (value & msb) != 0;
                        value = ((value << 1) | (cf ? 1UL : 0)) & mask;
                        cf = outBit;
                        break;
                    }

                case 3:
                    {
                        bool outBit = (value & 1) != 0;
                        value = (value >> 1) | (cf ? msb : 0);
                        cf = outBit;
                        break;
                    }

                case 4:
                    cf = (value & msb) != 0;
                    value = (value << 1) & mask;
                    break;
                case 5:
                    cf = (value & 1) != 0;
                    value >>= 1;
                    break;
                default:
                    cf = (value & 1) != 0;
                    value = (value >> 1) | (value & msb);
                    break;
            }
        }

        bool newMsb = (value & msb) != 0;
        bool of = op switch
        {
            0 or 2 or 4 => newMsb != cf,
            1 => newMsb != ((value & (msb >> 1)) != 0),
            3 => originalMsb != carryIn,
            5 => originalMsb,
            _ => false,
        };
        return (value, cf, of);
    }

    private static uint Szp(ulong result, int size)
    {
        uint f = 0;
        if ((result & Mask(size)) == 0)
        {
            f |= Zf;
        }

        if ((result & (1UL << ((size * 8) - 1))) != 0)
        {
            f |= Sf;
        }

        if ((BitOperations.PopCount(result & 0xFF) & 1) == 0)
        {
            f |= Pf;
        }

        return f;
    }

    private static ulong Mask(int size) => size == 8 ? ulong.MaxValue : (1UL << (size * 8)) - 1;

    private static long SignExtend(ulong value, int size) => size switch
    {
        1 => (sbyte)value,
        2 => (short)value,
        4 => (int)value,
        _ => (long)value,
    };
}
