using System.Text;
using Iced.Intel;
using Virt.Memory;
using Xunit;
using static Iced.Intel.AssemblerRegisters;

namespace Virt.Cpu.Tests.Execution;

/// <summary>
/// The integer SIMD family through the instruction path (decode, operand forms, memory, flags, the x87 aliasing of MMX), a
/// few instructions per family in real mode, with CR4.OSFXSR set unless a test says otherwise. The arithmetic itself is
/// checked against the host's instructions in Simd/PackedIntegerTests.cs; here every expected value is worked out by hand.
/// </summary>
public sealed class SimdIntegerTests
{
    private const int VectorUd = 6;
    private const int VectorNm = 7;
    private const int VectorGp = 13;
    private const ulong Cr0Em = 1UL << 2;
    private const ulong Cr0Ts = 1UL << 3;
    private const ulong Cr4Osfxsr = 1UL << 9;
    private const ulong Data = 0x2000;
    private const ulong SaveArea = 0x2100;
    private const uint Cf = 1u << 0;
    private const uint Zf = 1u << 6;
    private const uint Sf = 1u << 7;
    private const uint Of = 1u << 11;

    private readonly CpuHarness _m = new();

    /// <summary>Loads the code, applies <paramref name="setup"/> (registers, CR bits) and runs to HLT or a fault handler.</summary>
    /// <returns>The vector of the fault taken, or -1.</returns>
    private int Run(Action<Assembler> code, Action<Cpu>? setup = null)
    {
        _m.Load(a =>
        {
            code(a);
            a.hlt();
        });
        _m.InstallHaltHandler(VectorUd);
        _m.InstallHaltHandler(VectorNm);
        _m.InstallHaltHandler(VectorGp);
        _m.Cpu.Cr4 = Cr4Osfxsr;
        setup?.Invoke(_m.Cpu);
        _m.Cpu.Run(1000);
        uint ip = _m.Cpu.Eip;
        foreach (int vector in new[] { VectorUd, VectorNm, VectorGp })
        {
            if (ip == CpuHarness.HaltHandlerReturn(vector))
            {
                return vector;
            }
        }

        return -1;
    }

    private void Poke(ulong address, ulong value) => _m.Memory.WriteQuadWord(new PhysicalAddress(address), value);

    private ulong Peek(ulong address) => _m.Memory.ReadQuadWord(new PhysicalAddress(address));

    private static UInt128 X(ulong high, ulong low) => new(high, low);

    [Fact]
    public void Mmx_paddusb_saturates_each_byte()
    {
        // Bytes, low first: 80+80 = 100h -> FF; 7F+01 = 80; 01+FF = 100h -> FF; F0+20 = 110h -> FF.
        int fault = Run(a =>
        {
            a.mov(eax, 0xF0017F80);
            a.movd(mm0, eax);
            a.mov(eax, 0x20FF0180);
            a.movd(mm1, eax);
            a.paddusb(mm0, mm1);
            a.movd(ebx, mm0);
        });
        Assert.Equal(-1, fault);
        Assert.Equal(0xFFFF80FFUL, _m.Reg(GeneralRegister.Rbx));
    }

    [Fact]
    public void Mmx_registers_alias_the_x87_registers_and_reset_top_and_tags()
    {
        // FLD1 makes TOP 7; the MMX load then sets TOP 0 and every tag non-empty, and writes R0's significand with the
        // sign and exponent all ones (Intel SDM Vol. 1, 9.5.1), so FNSAVE shows ST(0) = R0 as FFFF:1122334455667788 with
        // tag 10b (special). EMMS afterwards empties every tag: FFFFh.
        Poke(Data, 0x1122334455667788);
        int fault = Run(a =>
        {
            a.fld1();
            a.movq(mm0, __qword_ptr[(uint)Data]);
            a.fnstsw(ax);
            a.fnsave(__[(uint)SaveArea]);
            a.movq(mm1, mm0);
            a.emms();
            a.fnstenv(__[(uint)SaveArea + 0x80]);
        });
        Assert.Equal(-1, fault);
        Assert.Equal(0UL, (_m.Reg(GeneralRegister.Rax) >> 11) & 7);
        Assert.Equal(0x1122334455667788UL, Peek(SaveArea + 14));
        Assert.Equal(0xFFFF, _m.Word(SaveArea + 22));
        Assert.Equal(2, _m.Word(SaveArea + 4) & 3);
        Assert.Equal(0xFFFF, _m.Word(SaveArea + 0x80 + 4));
    }

    [Fact]
    public void Mmx_shift_by_register_and_by_immediate()
    {
        // PSLLQ by 4 then PSRLW by the 64-bit count 70 (more than 15: every word cleared) in another register.
        int fault = Run(a =>
        {
            a.mov(eax, 0x8765_4321);
            a.movd(mm0, eax);
            a.psllq(mm0, 4);
            a.movd(ebx, mm0);
            a.mov(eax, 70);
            a.movd(mm2, eax);
            a.psrlw(mm0, mm2);
            a.movd(ecx, mm0);
        });
        Assert.Equal(-1, fault);
        Assert.Equal(0x7654_3210UL, _m.Reg(GeneralRegister.Rbx));
        Assert.Equal(0UL, _m.Reg(GeneralRegister.Rcx));
    }

    [Fact]
    public void Sse2_paddq_and_pmuludq_on_aligned_memory()
    {
        // PADDQ: FFFFFFFFFFFFFFFF + 1 wraps to 0 in lane 0; 1 + 2 = 3 in lane 1. PMULUDQ multiplies the low doublewords
        // of each quadword: FFFFFFFFh * FFFFFFFFh = FFFFFFFE00000001h.
        Poke(Data, ulong.MaxValue);
        Poke(Data + 8, 1);
        Poke(Data + 16, 1);
        Poke(Data + 24, 2);
        int fault = Run(a =>
        {
            a.movdqa(xmm0, __xmmword_ptr[(uint)Data]);
            a.paddq(xmm0, __xmmword_ptr[(uint)Data + 16]);
            a.movdqa(xmm1, __xmmword_ptr[(uint)Data]);
            a.pmuludq(xmm1, xmm1);
        });
        Assert.Equal(-1, fault);
        Assert.Equal(X(3, 0), _m.Cpu.GetXmm(0));
        Assert.Equal(X(1, 0xFFFF_FFFE_0000_0001), _m.Cpu.GetXmm(1));
    }

    [Fact]
    public void Misaligned_m128_is_gp_for_packed_forms_and_fine_for_movdqu()
    {
        Assert.Equal(VectorGp, Run(a => a.paddb(xmm0, __xmmword_ptr[(uint)Data + 1])));
        Assert.Equal(VectorGp, Run(a => a.movdqa(__xmmword_ptr[(uint)Data + 8], xmm0)));
        Poke(Data + 1, 0x0102030405060708);
        Poke(Data + 9, 0x1112131415161718);
        Assert.Equal(-1, Run(a => a.movdqu(xmm3, __xmmword_ptr[(uint)Data + 1])));
        Assert.Equal(X(0x1112131415161718, 0x0102030405060708), _m.Cpu.GetXmm(3));
    }

    [Fact]
    public void Movd_movq_zero_extend_into_xmm_and_store_the_low_part()
    {
        int fault = Run(
            a =>
            {
                a.mov(eax, 0xCAFEBABE);
                a.movd(xmm0, eax);
                a.movq(xmm1, xmm2);
                a.movq(__qword_ptr[(uint)Data], xmm2);
                a.pextrw(ecx, xmm2, 7);
            },
            cpu =>
            {
                cpu.SetXmm(0, X(ulong.MaxValue, ulong.MaxValue));
                cpu.SetXmm(1, X(ulong.MaxValue, ulong.MaxValue));
                cpu.SetXmm(2, X(0xABCD_0000_0000_0000, 0x0123_4567_89AB_CDEF));
            });
        Assert.Equal(-1, fault);
        Assert.Equal(X(0, 0xCAFEBABE), _m.Cpu.GetXmm(0));
        Assert.Equal(X(0, 0x0123_4567_89AB_CDEF), _m.Cpu.GetXmm(1));
        Assert.Equal(0x0123_4567_89AB_CDEFUL, Peek(Data));
        Assert.Equal(0xABCDUL, _m.Reg(GeneralRegister.Rcx));
    }

    [Fact]
    public void Ssse3_pshufb_reverses_and_palignr_concatenates()
    {
        // PSHUFB with indices 15..0 reverses the bytes; index bytes with bit 7 set (the 80h in lane 0 of xmm3) give zero.
        // PALIGNR xmm4, xmm5, 3: bytes 3..18 of xmm4:xmm5, i.e. xmm5 >> 24 with xmm4's low three bytes on top.
        int fault = Run(
            a =>
            {
                a.pshufb(xmm0, xmm1);
                a.pshufb(xmm2, xmm3);
                a.palignr(xmm4, xmm5, 3);
            },
            cpu =>
            {
                cpu.SetXmm(0, X(0x0F0E0D0C0B0A0908, 0x0706050403020100));
                cpu.SetXmm(1, X(0x0001020304050607, 0x08090A0B0C0D0E0F));
                cpu.SetXmm(2, X(0x0F0E0D0C0B0A0908, 0x0706050403020100));
                cpu.SetXmm(3, X(0, 0x80));
                cpu.SetXmm(4, X(0, 0xCCBBAA));
                cpu.SetXmm(5, X(0x1111111111111111, 0x2222222222222222));
            });
        Assert.Equal(-1, fault);
        Assert.Equal(X(0x0001020304050607, 0x08090A0B0C0D0E0F), _m.Cpu.GetXmm(0));
        Assert.Equal(X(0, 0), _m.Cpu.GetXmm(2) & X(0, 0xFF));
        Assert.Equal(X(0xCCBBAA1111111111, 0x1111112222222222), _m.Cpu.GetXmm(4));
    }

    [Fact]
    public void Sse41_ptest_flags_and_pmovsxbw_from_unaligned_memory()
    {
        // xmm0 & xmm1 = 0 -> ZF; ~xmm0 & xmm1 = xmm1 != 0 -> CF clear. PMOVSXBW: bytes 80h, 7Fh -> FF80h, 007Fh.
        Poke(Data + 3, 0x7F80);
        int fault = Run(
            a =>
            {
                a.stc();
                a.ptest(xmm0, xmm1);
                a.pmovsxbw(xmm2, __qword_ptr[(uint)Data + 3]);
            },
            cpu =>
            {
                cpu.SetXmm(0, X(0xF0, 0x0F));
                cpu.SetXmm(1, X(0x0F, 0xF0));
            });
        Assert.Equal(-1, fault);
        Assert.Equal(Zf, _m.Cpu.Flags & (Zf | Cf | Sf | Of));
        Assert.Equal(X(0, 0x007F_FF80), _m.Cpu.GetXmm(2));
    }

    [Fact]
    public void Sse41_pinsrd_pextrb_and_pmovmskb()
    {
        int fault = Run(
            a =>
            {
                a.mov(eax, 0x8000_0080);
                a.pinsrd(xmm0, eax, 2);
                a.pextrb(ebx, xmm0, 8);
                a.pmovmskb(ecx, xmm0);
            });
        Assert.Equal(-1, fault);
        Assert.Equal(X(0x8000_0080, 0), _m.Cpu.GetXmm(0));
        Assert.Equal(0x80UL, _m.Reg(GeneralRegister.Rbx));

        // Bytes 8 and 11 of xmm0 have their sign bit set.
        Assert.Equal((1UL << 8) | (1UL << 11), _m.Reg(GeneralRegister.Rcx));
    }

    [Fact]
    public void Sse42_pcmpistri_finds_a_substring()
    {
        // Equal ordered (imm 0Ch): "abc" first occurs in "xxabcx" at index 2. CF: a match; ZF and SF: both strings end
        // inside their registers; OF: IntRes2[0] = 0.
        int fault = Run(
            a => a.pcmpistri(xmm1, xmm2, 0x0C),
            cpu =>
            {
                cpu.SetXmm(1, Text("abc"));
                cpu.SetXmm(2, Text("xxabcx"));
            });
        Assert.Equal(-1, fault);
        Assert.Equal(2UL, _m.Reg(GeneralRegister.Rcx));
        Assert.Equal(Cf | Zf | Sf, _m.Cpu.Flags & (Cf | Zf | Sf | Of));
    }

    [Fact]
    public void Sse42_pcmpestrm_writes_the_byte_mask_to_xmm0()
    {
        // Equal any (imm 40h: bytes, expanded mask) with the set "ab" (EAX = 2) over "abcab" (EDX = 5).
        int fault = Run(
            a =>
            {
                a.mov(eax, 2);
                a.mov(edx, 5);
                a.pcmpestrm(xmm1, xmm2, 0x40);
            },
            cpu =>
            {
                cpu.SetXmm(1, Text("ab"));
                cpu.SetXmm(2, Text("abcab"));
            });
        Assert.Equal(-1, fault);
        Assert.Equal(X(0, 0xFF_FF00_FFFF), _m.Cpu.GetXmm(0));
    }

    [Fact]
    public void Crc32_gives_the_crc32c_check_value()
    {
        // The CRC-32C check value: "123456789" with initial value and final XOR FFFFFFFFh is E3069283h.
        _m.Memory.Write(new PhysicalAddress(Data), Encoding.ASCII.GetBytes("123456789"));
        int fault = Run(a =>
        {
            a.mov(eax, uint.MaxValue);
            a.crc32(eax, __dword_ptr[(uint)Data]);
            a.crc32(eax, __word_ptr[(uint)Data + 4]);
            a.crc32(eax, __word_ptr[(uint)Data + 6]);
            a.mov(bl, __byte_ptr[(uint)Data + 8]);
            a.crc32(eax, bl);
            a.not(eax);
        });
        Assert.Equal(-1, fault);
        Assert.Equal(0xE3069283UL, _m.Reg(GeneralRegister.Rax));
    }

    [Fact]
    public void Popcnt_counts_and_sets_only_zf()
    {
        int fault = Run(a =>
        {
            a.mov(ebx, 0xF0F0_0001);
            a.stc();
            a.popcnt(eax, ebx);
            a.setc(cl);
            a.setz(ch);
            a.xor(ebx, ebx);
            a.popcnt(edx, ebx);
            a.setz(dl);
        });
        Assert.Equal(-1, fault);
        Assert.Equal(9UL, _m.Reg(GeneralRegister.Rax));
        Assert.Equal(0UL, _m.Reg(GeneralRegister.Rcx) & 0xFFFF); // CF cleared, ZF clear for a non-zero source
        Assert.Equal(1UL, _m.Reg(GeneralRegister.Rdx) & 0xFF); // ZF for a zero source (DL overwrote the count 0)
    }

    [Fact]
    public void Maskmovdqu_stores_only_the_selected_bytes()
    {
        Poke(Data, 0x5555_5555_5555_5555);
        Poke(Data + 8, 0x5555_5555_5555_5555);
        int fault = Run(
            a =>
            {
                a.mov(di, (ushort)Data);
                a.maskmovdqu(xmm1, xmm2);
            },
            cpu =>
            {
                cpu.SetXmm(1, X(0x1122334455667788, 0x99AABBCCDDEEFF00));
                cpu.SetXmm(2, X(0x8000000000000000, 0x0000000000800080));
            });
        Assert.Equal(-1, fault);
        Assert.Equal(0x5555_5555_55EE_5500UL, Peek(Data));
        Assert.Equal(0x1155_5555_5555_5555UL, Peek(Data + 8));
    }

    [Theory]
    [InlineData(0UL, 0UL, VectorUd)] // CR4.OSFXSR = 0
    [InlineData(Cr0Ts, Cr4Osfxsr, VectorNm)]
    [InlineData(Cr0Em, Cr4Osfxsr, VectorUd)]
    [InlineData(0UL, Cr4Osfxsr, -1)]
    public void Sse_integer_forms_check_osfxsr_ts_and_em(ulong cr0Bits, ulong cr4, int expected)
    {
        Assert.Equal(expected, Run(a => a.paddd(xmm0, xmm1), cpu => Configure(cpu, cr0Bits, cr4)));
        Assert.Equal(expected, Run(a => a.pcmpistri(xmm0, xmm1, 0), cpu => Configure(cpu, cr0Bits, cr4)));
    }

    [Theory]
    [InlineData(0UL, 0UL, -1)] // MMX does not need CR4.OSFXSR
    [InlineData(Cr0Ts, 0UL, VectorNm)]
    [InlineData(Cr0Em, 0UL, VectorUd)]
    public void Mmx_forms_check_ts_and_em_but_not_osfxsr(ulong cr0Bits, ulong cr4, int expected)
    {
        Assert.Equal(expected, Run(a => a.paddb(mm0, mm1), cpu => Configure(cpu, cr0Bits, cr4)));
    }

    [Theory]
    [InlineData(Cr0Ts | Cr0Em, 0UL)]
    public void Popcnt_and_crc32_ignore_the_fpu_and_sse_controls(ulong cr0Bits, ulong cr4)
    {
        Assert.Equal(-1, Run(a => a.popcnt(eax, ebx), cpu => Configure(cpu, cr0Bits, cr4)));
        Assert.Equal(-1, Run(a => a.crc32(eax, ebx), cpu => Configure(cpu, cr0Bits, cr4)));
    }

    private static void Configure(Cpu cpu, ulong cr0Bits, ulong cr4)
    {
        cpu.Cr0 |= cr0Bits;
        cpu.Cr4 = cr4;
    }

    private static UInt128 Text(string s)
    {
        byte[] bytes = new byte[16];
        Encoding.ASCII.GetBytes(s).CopyTo(bytes, 0);
        return new UInt128(BitConverter.ToUInt64(bytes, 8), BitConverter.ToUInt64(bytes, 0));
    }
}
