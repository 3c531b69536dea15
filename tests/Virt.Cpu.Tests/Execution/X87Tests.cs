using Virt.Memory;
using Xunit;
using static Iced.Intel.AssemblerRegisters;

namespace Virt.Cpu.Tests.Execution;

/// <summary>The x87 family run as real-mode guest programs (Iced's assembler); results are read back from guest memory.</summary>
public sealed class X87Tests
{
    private readonly CpuHarness _m = new();

    private string Tword(ulong address)
    {
        Span<byte> b = stackalloc byte[10];
        _m.Memory.Read(new PhysicalAddress(address), b);
        ulong significand = BitConverter.ToUInt64(b);
        ushort se = BitConverter.ToUInt16(b[8..]);
        return $"{se:X4} {significand:X16}";
    }

    private uint Dword(ulong address) => _m.Memory.ReadDoubleWord(new PhysicalAddress(address));

    [Fact]
    public void Constants_and_square_root_give_the_exact_extended_patterns()
    {
        _m.Run(a =>
        {
            a.fninit();
            a.fldpi();
            a.fstp(__tword_ptr[0x2000]);
            a.fld1();
            a.fld1();
            a.faddp(st1, st0); // 2.0
            a.fsqrt();
            a.fstp(__tword_ptr[0x2010]);
            a.fldl2e();
            a.fstp(__tword_ptr[0x2020]);
            a.fldz();
            a.fstp(__tword_ptr[0x2030]);
            a.fnstsw(ax);
            a.hlt();
        });
        Assert.Equal("4000 C90FDAA22168C235", Tword(0x2000)); // pi, round to nearest (SDM Vol. 1, 8.3.8)
        Assert.Equal("3FFF B504F333F9DE6484", Tword(0x2010)); // sqrt(2)
        Assert.Equal("3FFF B8AA3B295C17F0BC", Tword(0x2020)); // log2(e)
        Assert.Equal("0000 0000000000000000", Tword(0x2030));
        Assert.Equal(0, (int)(_m.Reg(GeneralRegister.Rax) & 0x3800)); // TOP back to 0
    }

    [Fact]
    public void Arithmetic_with_memory_and_integer_operands()
    {
        _m.Memory.WriteDoubleWord(new PhysicalAddress(0x2100), 0x40400000); // 3.0f
        _m.Memory.WriteWord(new PhysicalAddress(0x2104), 7);
        _m.Memory.WriteDoubleWord(new PhysicalAddress(0x2108), 0x00000000);
        _m.Memory.WriteDoubleWord(new PhysicalAddress(0x210C), 0x40240000); // 10.0
        _m.Run(a =>
        {
            a.fninit();
            a.fld(__dword_ptr[0x2100]); // 3
            a.fimul(__word_ptr[0x2104]); // 21
            a.fsub(__qword_ptr[0x2108]); // 11
            a.fisubr(__word_ptr[0x2104]); // 7 - 11 = -4
            a.fchs(); // 4
            a.fidiv(__word_ptr[0x2104]); // 4/7
            a.fimul(__word_ptr[0x2104]); // 4 (inexact round trip allowed)
            a.frndint();
            a.fistp(__dword_ptr[0x2200]);
            a.fld(__qword_ptr[0x2108]);
            a.fst(__dword_ptr[0x2204]); // 10.0f
            a.fxtract(); // ST0 = 1.25, ST1 = 3
            a.fstp(__qword_ptr[0x2208]);
            a.fistp(__word_ptr[0x2210]);
            a.hlt();
        });
        Assert.Equal(4u, Dword(0x2200));
        Assert.Equal(0x41200000u, Dword(0x2204));
        Assert.Equal(0x3FF40000u, Dword(0x220C));
        Assert.Equal(3, _m.Word(0x2210));
    }

    [Theory]
    [InlineData(0x037F, 2, -2)] // nearest even
    [InlineData(0x077F, 2, -3)] // down
    [InlineData(0x0B7F, 3, -2)] // up
    [InlineData(0x0F7F, 2, -2)] // chop
    public void Fist_follows_the_rounding_control(int controlWord, int positive, int negative)
    {
        _m.Memory.WriteWord(new PhysicalAddress(0x2000), (ushort)controlWord);
        _m.Memory.WriteDoubleWord(new PhysicalAddress(0x2004), 0x40200000); // 2.5f
        _m.Run(a =>
        {
            a.fninit();
            a.fldcw(__word_ptr[0x2000]);
            a.fld(__dword_ptr[0x2004]);
            a.fist(__word_ptr[0x2010]);
            a.fchs();
            a.fistp(__dword_ptr[0x2014]);
            a.fld(__dword_ptr[0x2004]);
            a.fisttp(__word_ptr[0x2018]); // always truncates
            a.hlt();
        });
        Assert.Equal((ushort)(short)positive, _m.Word(0x2010));
        Assert.Equal((uint)negative, Dword(0x2014));
        Assert.Equal(2, _m.Word(0x2018));
    }

    [Fact]
    public void Fcomi_and_fcom_set_eflags_and_condition_codes()
    {
        _m.Run(a =>
        {
            a.fninit();
            a.fld1();
            a.fld1();
            a.fadd(st0, st0); // ST0 = 2, ST1 = 1
            a.fxch(st0, st1); // ST0 = 1, ST1 = 2
            a.fcomi(st0, st1); // less: CF = 1
            a.setb(bl);
            a.sete(bh);
            a.fcom(st0, st1);
            a.fnstsw(ax); // C0 = 1
            a.mov(dx, ax);
            a.fucomip(st0, st0); // equal: ZF = 1, pops
            a.sete(cl);
            a.fcmove(st0, st0);
            a.fldz();
            a.fucompp(); // 0 vs 2: less, pops both
            a.fnstsw(ax);
            a.hlt();
        });
        Assert.Equal(0x0001UL, _m.Reg(GeneralRegister.Rbx) & 0xFFFF);
        Assert.Equal(0x0100UL, _m.Reg(GeneralRegister.Rdx) & 0x4500);
        Assert.Equal(1UL, _m.Reg(GeneralRegister.Rcx) & 0xFF);
        Assert.Equal(0x0100UL, _m.Reg(GeneralRegister.Rax) & 0x4500);
        Assert.Equal(0UL, (_m.Reg(GeneralRegister.Rax) >> 11) & 7); // stack empty again
    }

    [Fact]
    public void Fsave_and_frstor_round_trip_through_guest_memory()
    {
        _m.Run(a =>
        {
            a.fninit();
            a.fldpi();
            a.fld1();
            a.fnsave(__[0x3000]); // 16-bit real-mode layout, 94 bytes; then FNINIT
            a.fnstcw(__word_ptr[0x2000]);
            a.fnstsw(__word_ptr[0x2002]);
            a.frstor(__[0x3000]);
            a.fstp(__tword_ptr[0x2010]);
            a.fstp(__tword_ptr[0x2020]);
            a.hlt();
        });
        Assert.Equal(0x037F, _m.Word(0x3000)); // control word
        Assert.Equal(6 << 11, _m.Word(0x3002) & 0x3800); // TOP = 6
        Assert.Equal(0x0FFF, _m.Word(0x3004)); // tags: ST0 and ST1 valid (physical 6, 7), the rest empty
        Assert.Equal("3FFF 8000000000000000", Tword(0x3000 + 14)); // ST(0)
        Assert.Equal(0x037F, _m.Word(0x2000));
        Assert.Equal(0, _m.Word(0x2002));
        Assert.Equal("3FFF 8000000000000000", Tword(0x2010));
        Assert.Equal("4000 C90FDAA22168C235", Tword(0x2020));
    }

    [Fact]
    public void Escape_with_cr0_ts_raises_nm_and_wait_needs_mp()
    {
        _m.Load(a =>
        {
            a.wait(); // TS alone: WAIT does not fault
            a.fld1(); // 1001h: #NM
            a.hlt();
        });
        _m.Cpu.Cr0 |= 8;
        _m.InstallHaltHandler(7);
        Assert.Equal(StopReason.Halted, _m.Cpu.Run(100));
        Assert.Equal(CpuHarness.HaltHandlerReturn(7), _m.Cpu.Eip);
        Assert.Equal(0x1001, _m.Word(0x8000 - 6));

        _m.Load(a =>
        {
            a.wait(); // MP and TS: #NM
            a.hlt();
        });
        _m.Cpu.Cr0 |= 0xA;
        _m.InstallHaltHandler(7);
        _m.Cpu.Run(100);
        Assert.Equal(CpuHarness.HaltHandlerReturn(7), _m.Cpu.Eip);
        Assert.Equal(0x1000, _m.Word(0x8000 - 6));
    }

    [Fact]
    public void Unmasked_divide_by_zero_raises_mf_at_the_next_waiting_instruction_with_ne()
    {
        _m.Memory.WriteWord(new PhysicalAddress(0x2000), 0x037B); // ZM clear
        _m.Load(a =>
        {
            a.fninit(); // 1000h, 2 bytes
            a.fldcw(__word_ptr[0x2000]); // 1002h, 4 bytes
            a.fld1(); // 1006h
            a.fldz(); // 1008h
            a.fdivp(st1, st0); // 100Ah: 1/0, ZE pending, no fault yet
            a.fnstsw(ax); // 100Ch: no-wait
            a.wait(); // 100Eh: #MF
            a.hlt();
        });
        _m.Cpu.Cr0 |= 0x20;
        _m.InstallHaltHandler(16);
        _m.Cpu.Run(100);
        Assert.Equal(CpuHarness.HaltHandlerReturn(16), _m.Cpu.Eip);
        Assert.Equal(0x100E, _m.Word(0x8000 - 6));
        Assert.Equal(0x0084UL, _m.Reg(GeneralRegister.Rax) & 0x00FF); // ES + ZE
    }

    [Fact]
    public void Without_ne_a_pending_exception_asserts_ferr_instead()
    {
        var changes = new List<bool>();
        var m = new CpuHarness(fpuError: new FerrRecorder(changes));
        m.Memory.WriteWord(new PhysicalAddress(0x2000), 0x037B);
        m.Run(a =>
        {
            a.fninit();
            a.fldcw(__word_ptr[0x2000]);
            a.fld1();
            a.fldz();
            a.fdivp(st1, st0);
            a.wait(); // FERR# asserted, execution continues
            a.mov(bx, 1);
            a.fnclex(); // deasserted
            a.hlt();
        });
        Assert.Equal(1UL, m.Reg(GeneralRegister.Rbx) & 0xFFFF);
        Assert.Equal([true, false], changes);
        Assert.False(m.Cpu.FerrAsserted);
    }

    [Fact]
    public void Transcendentals_and_stack_faults()
    {
        _m.Run(a =>
        {
            a.fninit();
            a.fldz();
            a.fcos(); // 1
            a.fstp(__tword_ptr[0x2000]);
            a.fld1();
            a.fld1();
            a.fpatan(); // atan(1/1) = pi/4
            a.fstp(__tword_ptr[0x2010]);
            a.fld1();
            a.fptan(); // pushes 1.0 after tan(1)
            a.fstp(__tword_ptr[0x2020]);
            a.fstp(st0);
            a.fstp(__tword_ptr[0x2030]); // empty: masked underflow stores the indefinite
            a.fnstsw(ax);
            a.hlt();
        });
        Assert.Equal("3FFF 8000000000000000", Tword(0x2000));
        Assert.Equal("3FFE C90FDAA22168C235", Tword(0x2010));
        Assert.Equal("3FFF 8000000000000000", Tword(0x2020));
        Assert.Equal("FFFF C000000000000000", Tword(0x2030));
        Assert.Equal(0x41UL, _m.Reg(GeneralRegister.Rax) & 0x41); // SF + IE
    }

    [Fact]
    public void Cpuid_reports_fpu_and_fxsr()
    {
        _m.Run(a =>
        {
            a.mov(eax, 1);
            a.cpuid();
            a.hlt();
        });
        Assert.Equal(1UL, _m.Reg(GeneralRegister.Rdx) & 1);
        Assert.Equal(1UL << 24, _m.Reg(GeneralRegister.Rdx) & (1UL << 24));
    }

    [Fact]
    public void Fxsave_writes_the_x87_image_and_faults_when_misaligned()
    {
        _m.Load(a =>
        {
            a.fninit();
            a.fld1();
            a.fxsave(__[0x3000]);
            a.fninit();
            a.fxrstor(__[0x3000]);
            a.fstp(__tword_ptr[0x2000]);
            a.fxsave(__[0x3008]); // misaligned: #GP
            a.hlt();
        });
        _m.InstallHaltHandler(13);
        _m.Cpu.Run(100);
        Assert.Equal(CpuHarness.HaltHandlerReturn(13), _m.Cpu.Eip);
        Assert.Equal(0x037F, _m.Word(0x3000));
        Assert.Equal(0x80, _m.Memory.ReadByte(new PhysicalAddress(0x3004))); // abridged tag: physical 7 valid
        Assert.Equal("3FFF 8000000000000000", Tword(0x3000 + 32));
        Assert.Equal("3FFF 8000000000000000", Tword(0x2000));
    }

    [Fact]
    public void Snapshot_carries_the_x87_state()
    {
        _m.Run(a =>
        {
            a.fninit();
            a.fldpi();
            a.hlt();
        });
        CpuState state = _m.Cpu.SaveState();
        Assert.Equal(512, state.X87Image!.Count);
        _m.Load(a =>
        {
            a.fstp(__tword_ptr[0x2000]);
            a.hlt();
        });
        _m.Cpu.RestoreState(state with { Eip = CpuHarness.CodeOffset, Halted = false });
        _m.Cpu.Run(10);
        Assert.Equal("4000 C90FDAA22168C235", Tword(0x2000));
    }

    [Fact]
    public void Fnstenv_records_the_last_instruction_and_operand_pointers()
    {
        _m.Memory.WriteDoubleWord(new PhysicalAddress(0x2100), 0x3F800000); // 1.0f
        _m.Run(a =>
        {
            a.fninit(); // 1000h
            a.fld(__dword_ptr[0x2100]); // 1002h: D9 06 00 21
            a.fnstenv(__[0x3000]); // real-mode 16-bit layout (SDM Vol. 1, Figure 8-10)
            a.hlt();
        });
        Assert.Equal(0x037F, _m.Word(0x3000));
        Assert.Equal(0x3800, _m.Word(0x3002)); // TOP = 7
        Assert.Equal(0x3FFF, _m.Word(0x3004)); // physical 7 valid
        Assert.Equal(0x1002, _m.Word(0x3006)); // FIP[15:0]
        Assert.Equal(0x0106, _m.Word(0x3008)); // FIP[19:16] and FOP
        Assert.Equal(0x2100, _m.Word(0x300A)); // FDP[15:0]
    }

    [Fact]
    public void Bcd_remainder_and_examine()
    {
        _m.Memory.WriteWord(new PhysicalAddress(0x2000), 1234);
        _m.Memory.WriteWord(new PhysicalAddress(0x2002), 5);
        _m.Memory.WriteWord(new PhysicalAddress(0x2004), 17);
        _m.Run(a =>
        {
            a.fninit();
            a.fild(__word_ptr[0x2000]);
            a.fbstp(__tword_ptr[0x2200]);
            a.fbld(__tword_ptr[0x2200]);
            a.fchs();
            a.fistp(__word_ptr[0x2010]);
            a.fild(__word_ptr[0x2002]);
            a.fild(__word_ptr[0x2004]);
            a.fprem(); // 17 = 3 x 5 + 2: Q = 011
            a.fnstsw(ax);
            a.mov(bx, ax);
            a.fistp(__word_ptr[0x2012]);
            a.fxam(); // +5, normal
            a.fnstsw(ax);
            a.mov(cx, ax);
            a.ffree(st0);
            a.fxam(); // empty
            a.fnstsw(ax);
            a.hlt();
        });
        Assert.Equal(0x1234u, Dword(0x2200));
        Assert.Equal(unchecked((ushort)-1234), _m.Word(0x2010));
        Assert.Equal(2, _m.Word(0x2012));
        Assert.Equal(0x4200UL, _m.Reg(GeneralRegister.Rbx) & 0x4700); // C3 = Q1, C1 = Q0, C0 = Q2 = 0, C2 = 0
        Assert.Equal(0x0400UL, _m.Reg(GeneralRegister.Rcx) & 0x4700); // normal: C2
        Assert.Equal(0x4100UL, _m.Reg(GeneralRegister.Rax) & 0x4500); // empty: C3 and C0
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Fprem_with_exponent_difference_100_is_partial_and_clears_the_quotient_bits(bool ieee)
    {
        // 1.3456789ABCDEF012h * 2^100 rem 1.FEDCBA9876543210h: N = 32 + (100 mod 32) = 36 (Intel SDM Vol. 2A, FPREM);
        // result and status measured on an Intel Xeon: C2 = 1, C0 = C3 = C1 = 0.
        _m.Memory.WriteQuadWord(new PhysicalAddress(0x2000), 0x9A2B3C4D5E6F7809);
        _m.Memory.WriteWord(new PhysicalAddress(0x2008), 0x4063);
        _m.Memory.WriteQuadWord(new PhysicalAddress(0x2010), 0xFF6E5D4C3B2A1908);
        _m.Memory.WriteWord(new PhysicalAddress(0x2018), 0x3FFF);
        _m.Run(a =>
        {
            a.fninit();
            a.fldz();
            a.ftst(); // C3 = 1: the partial remainder must clear it
            a.fstp(st0);
            a.fld(__tword_ptr[0x2010]);
            a.fld(__tword_ptr[0x2000]);
            if (ieee)
            {
                a.fprem1();
            }
            else
            {
                a.fprem();
            }

            a.fnstsw(ax);
            a.fstp(__tword_ptr[0x2020]);
            a.hlt();
        });
        Assert.Equal("403F DF009ABAE466E440", Tword(0x2020));
        Assert.Equal(0x0400UL, _m.Reg(GeneralRegister.Rax) & 0x4700);
    }

    /// <summary>Records every FERR# level the CPU reports.</summary>
    private sealed class FerrRecorder(List<bool> changes) : IFpuErrorOutput
    {
        public void OnFerrChanged(bool asserted) => changes.Add(asserted);
    }
}
