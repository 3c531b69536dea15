using FsCheck.Xunit;
using Xunit;
using static Iced.Intel.AssemblerRegisters;
using static Virt.Cpu.Tests.Execution.SdmReference;

namespace Virt.Cpu.Tests.Execution;

/// <summary>The shift family (SHL/SAL, SHR, SAR, ROL, ROR, RCL, RCR, SHLD, SHRD) against <see cref="SdmReference"/>.</summary>
public sealed class ShiftsTests
{
    private readonly CpuHarness _machine = new();

    [Property(MaxTest = 400)]
    public void Shifts_and_rotates_match_the_reference(byte opSelector, uint a, byte countSelector, bool carryIn, byte sizeSelector)
    {
        int size = 1 << (sizeSelector % 3);
        var op = (ShiftOp)(opSelector % 7);

        // The count is masked to 5 bits (Vol. 2B, SAL/SAR/SHL/SHR: "masked to 5 bits"); give the CPU the raw byte.
        int count = countSelector & 0x1F;
        ulong mask = Mask(size);
        ulong x = a & mask;
        _machine.Run(asm =>
        {
            asm.mov(eax, (uint)x);
            asm.mov(cl, countSelector);
            AluGuest.SetCarry(asm, carryIn);
            AluGuest.EmitShift(asm, op, size);
            asm.hlt();
        });
        ulong result = _machine.Reg(GeneralRegister.Rax) & mask;
        uint flags = _machine.Cpu.Flags & AllStatus;
        (ulong expected, bool cf, bool of) = SdmReference.Shift(op, size, x, count, carryIn);
        Assert.Equal(expected, result);
        if (count == 0)
        {
            Assert.Equal(carryIn ? Cf : 0, flags & Cf);
            return;
        }

        bool isRotate = op <= ShiftOp.Rcr;

        // For SHL/SHR/SAR, CF is undefined once the count reaches the operand size.
        if (isRotate || count < size * 8)
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

    /// <summary>
    /// SHLD and SHRD with a CL count, 16 and 32 bits: the count is taken modulo 32; count 0 changes nothing (flags included);
    /// counts up to the operand size follow the SDM pseudo-code; counts above it are undefined and only checked not to fault.
    /// </summary>
    [Property(MaxTest = 500)]
    public void Shld_and_shrd_by_cl_match_the_sdm_pseudo_code(uint a, uint b, byte countByte, bool left, bool wide, bool carryIn)
    {
        int size = wide ? 4 : 2;
        ulong mask = Mask(size);
        ulong dst = a & mask;
        ulong src = b & mask;
        void Build(Iced.Intel.Assembler asm)
        {
            asm.mov(eax, (uint)dst);
            asm.mov(ebx, (uint)src);
            asm.mov(cl, countByte);
            AluGuest.SetCarry(asm, carryIn);
            switch ((left, wide))
            {
                case (true, false): asm.shld(ax, bx, cl); break;
                case (true, true): asm.shld(eax, ebx, cl); break;
                case (false, false): asm.shrd(ax, bx, cl); break;
                default: asm.shrd(eax, ebx, cl); break;
            }

            asm.hlt();
        }

        // Every count runs to the HLT: no fault, whatever the count (one past the HLT is the code's end).
        Assert.Equal(StopReason.Halted, _machine.Run(Build));
        Assert.Equal(CpuHarness.CodeOffset + (uint)CpuHarness.Assemble(Build).Length, _machine.Cpu.Eip);
        AssertDoubleShift(left, size, dst, src, countByte & 0x1F, carryIn);
    }

    /// <summary>SHLD/SHRD with an imm8 count (0F A4 / 0F AC): the same definition, the immediate masked to 5 bits.</summary>
    [Property(MaxTest = 300)]
    public void Shld_and_shrd_by_an_immediate_match_the_sdm_pseudo_code(uint a, uint b, byte countByte, bool left, bool wide)
    {
        int size = wide ? 4 : 2;
        ulong mask = Mask(size);
        ulong dst = a & mask;
        ulong src = b & mask;
        _machine.Run(asm =>
        {
            asm.mov(eax, (uint)dst);
            asm.mov(ebx, (uint)src);
            asm.clc();
            switch ((left, wide))
            {
                case (true, false): asm.shld(ax, bx, countByte); break;
                case (true, true): asm.shld(eax, ebx, countByte); break;
                case (false, false): asm.shrd(ax, bx, countByte); break;
                default: asm.shrd(eax, ebx, countByte); break;
            }

            asm.hlt();
        });
        AssertDoubleShift(left, size, dst, src, countByte & 0x1F, carryIn: false);
    }

    /// <summary>Fixed cases worked by hand from the pseudo-code (the comment gives the reasoning).</summary>
    [Theory]
    [InlineData(true, 0x8000u, 0xFFFFu, 1, 0x0001u, true, true)] // SHLD 1: DEST[15] = 1 goes to CF, SRC[15] = 1 comes in; sign 1 -> 0 sets OF
    [InlineData(false, 0x0001u, 0x0000u, 1, 0x0000u, true, false)] // SHRD 1: DEST[0] = 1 goes to CF, SRC[0] = 0 comes in; sign stays 0
    [InlineData(true, 0x1234u, 0xABCDu, 16, 0xABCDu, false, null)] // SHLD 16 = operand size: DEST <- SRC, CF <- DEST[0] = 0
    [InlineData(false, 0x9235u, 0xABCDu, 16, 0xABCDu, true, null)] // SHRD 16: DEST <- SRC, CF <- DEST[15] = 1
    [InlineData(true, 0x1234u, 0xABCDu, 32, 0x1234u, false, null)] // 32 & 1Fh = 0: nothing changes, CF stays clear
    public void Double_shift_fixed_cases(bool left, uint dst, uint src, int count, uint expected, bool expectedCf, bool? expectedOf)
    {
        _machine.Run(asm =>
        {
            asm.mov(eax, dst);
            asm.mov(ebx, src);
            asm.mov(cl, (byte)count);
            asm.clc();
            if (left)
            {
                asm.shld(ax, bx, cl);
            }
            else
            {
                asm.shrd(ax, bx, cl);
            }

            asm.hlt();
        });
        Assert.Equal(expected, (uint)_machine.Reg(GeneralRegister.Rax) & 0xFFFF);
        Assert.Equal(expectedCf, (_machine.Cpu.Flags & Cf) != 0);
        if (expectedOf is { } of)
        {
            Assert.Equal(of, (_machine.Cpu.Flags & Of) != 0);
        }
    }

    private void AssertDoubleShift(bool left, int size, ulong dst, ulong src, int count, bool carryIn)
    {
        ulong mask = Mask(size);
        ulong actual = _machine.Reg(GeneralRegister.Rax) & mask;
        uint flags = _machine.Cpu.Flags & AllStatus;
        if (count == 0)
        {
            // "If the count operand is 0, the flags are not affected" and DEST is unchanged.
            Assert.Equal(dst, actual);
            Assert.Equal(carryIn ? Cf : 0, flags & Cf);
            return;
        }

        if (SdmReference.DoubleShift(left, size, dst, src, count) is not { } expected)
        {
            return; // count > operand size: DEST and the flags are undefined (Vol. 2B, SHLD/SHRD)
        }

        Assert.Equal(expected.Result, actual);
        Assert.Equal(expected.Cf, (flags & Cf) != 0);
        Assert.Equal(Szp(expected.Result, size), flags & (Sf | Zf | Pf));
        if (count == 1)
        {
            Assert.Equal(expected.Of, (flags & Of) != 0);
        }
    }
}
