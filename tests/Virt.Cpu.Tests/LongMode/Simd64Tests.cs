using Iced.Intel;
using Xunit;
using static Iced.Intel.AssemblerRegisters;
using H = Virt.Cpu.Tests.LongMode.LongModeHarness;

namespace Virt.Cpu.Tests.LongMode;

/// <summary>
/// SSE in 64-bit mode (Execution/Interpreter/Cpu.Simd*.cs): REX.R and REX.B reach XMM8-XMM15, REX.W widens the
/// general-register operands of MOVQ, CVTSI2SD, CVTTSD2SI, PEXTRQ and PINSRQ, and FXSAVE64/FXRSTOR64 and 16-byte operands
/// work at 64-bit offsets with a null DS (Intel SDM Vol. 2; Vol. 3A, 3.2.4: no limit checks in 64-bit mode).
/// </summary>
public sealed class Simd64Tests
{
    private const int Cr4Osfxsr = 1 << 9;
    private const int Cr4Osxmmexcpt = 1 << 10;
    private const int FxsaveXmmOffset = 160;
    private const int FxsaveMxcsrOffset = 24;

    private static void EnableSse(Assembler a)
    {
        a.mov(rax, cr4);
        a.or(rax, Cr4Osfxsr | Cr4Osxmmexcpt);
        a.mov(cr4, rax);
    }

    private static void NullDs(Assembler a)
    {
        a.xor(eax, eax);
        a.mov(ds, eax);
    }

    private static H RunSse(Action<Assembler> body)
    {
        var m = new H();
        m.Run(a =>
        {
            EnableSse(a);
            body(a);
            a.hlt();
        });
        Assert.Equal(-1, m.Cpu.LastExceptionVector);
        return m;
    }

    [Fact]
    public void Movq_with_rex_reaches_xmm8_to_xmm15_and_r8_to_r15()
    {
        var m = RunSse(a =>
        {
            a.mov(r8, 0x1122_3344_5566_7788UL);
            a.mov(r9, 0x0101_0101_0101_0101UL);
            a.movq(xmm9, r8);
            a.movq(xmm14, r9);
            a.paddq(xmm9, xmm14);
            a.movq(r11, xmm9);
            a.movq(xmm1, r9); // REX.W without REX.R: XMM1, not XMM9
        });
        Assert.Equal(0x1223_3445_5667_7889UL, m.Reg(GeneralRegister.R11));
        Assert.Equal((UInt128)0x1223_3445_5667_7889UL, m.Cpu.GetXmm(9));
        Assert.Equal((UInt128)0x0101_0101_0101_0101UL, m.Cpu.GetXmm(14));
        Assert.Equal((UInt128)0x0101_0101_0101_0101UL, m.Cpu.GetXmm(1));
    }

    [Fact]
    public void Cvtsi2sd_and_cvttsd2si_with_rex_w_convert_64_bit_integers()
    {
        const long big = (1L << 40) + 3;
        var m = RunSse(a =>
        {
            a.mov(rax, (ulong)big);
            a.cvtsi2sd(xmm12, rax);
            a.mov(rcx, unchecked((ulong)-5_000_000_000L));
            a.cvtsi2sd(xmm3, rcx);
            a.cvttsd2si(r10, xmm3);
            a.cvttsd2si(r12, xmm12);
        });
        Assert.Equal((double)big, BitConverter.UInt64BitsToDouble((ulong)m.Cpu.GetXmm(12)));
        Assert.Equal(-5_000_000_000.0, BitConverter.UInt64BitsToDouble((ulong)m.Cpu.GetXmm(3)));
        Assert.Equal(unchecked((ulong)-5_000_000_000L), m.Reg(GeneralRegister.R10));
        Assert.Equal((ulong)big, m.Reg(GeneralRegister.R12));
    }

    [Fact]
    public void Pextrq_and_pinsrq_move_quadwords_between_r64_and_high_xmm_registers()
    {
        var m = RunSse(a =>
        {
            a.mov(r9, 0xAAAA_BBBB_CCCC_DDDDUL);
            a.mov(rax, 0x1234_5678_9ABC_DEF0UL);
            a.pinsrq(xmm13, r9, 1);
            a.pinsrq(xmm13, rax, 0);
            a.pextrq(r10, xmm13, 1);
            a.pextrq(rbx, xmm13, 0);
        });
        Assert.Equal(0xAAAA_BBBB_CCCC_DDDDUL, m.Reg(GeneralRegister.R10));
        Assert.Equal(0x1234_5678_9ABC_DEF0UL, m.Reg(GeneralRegister.Rbx));
        Assert.Equal(((UInt128)0xAAAA_BBBB_CCCC_DDDDUL << 64) | 0x1234_5678_9ABC_DEF0UL, m.Cpu.GetXmm(13));
    }

    /// <summary>
    /// Debian's amd64 kernel runs FXSAVE64 on a buffer in the top half of the address space with DS null (fpu__init_system);
    /// Virt applied the 32-bit segment check to the whole block and raised #GP.
    /// </summary>
    [Fact]
    public void Fxsave64_at_a_high_half_address_with_a_null_ds_stores_all_sixteen_xmm_registers()
    {
        var m = RunSse(a =>
        {
            NullDs(a);
            a.mov(rax, 0x0F0E_0D0C_0B0A_0908UL);
            a.movq(xmm15, rax);
            a.mov(rax, 0x0807_0605_0403_0201UL);
            a.movq(xmm8, rax);
            a.mov(rbx, H.HighHalf + H.DataAddress);
            a.fxsave64(__[rbx]);
        });
        Assert.Equal(0x0807_0605_0403_0201UL, m.Qword(H.DataAddress + FxsaveXmmOffset + (8 * 16)));
        Assert.Equal(0x0F0E_0D0C_0B0A_0908UL, m.Qword(H.DataAddress + FxsaveXmmOffset + (15 * 16)));
        Assert.Equal(0x1F80UL, m.Qword(H.DataAddress + FxsaveMxcsrOffset) & 0xFFFF_FFFF);
    }

    [Fact]
    public void Fxrstor64_brings_back_xmm8_to_xmm15_saved_at_a_high_half_address()
    {
        var m = RunSse(a =>
        {
            NullDs(a);
            a.mov(rax, 0x5555_6666_7777_8888UL);
            a.movq(xmm10, rax);
            a.mov(rbx, H.HighHalf + H.DataAddress);
            a.fxsave64(__[rbx]);
            a.pxor(xmm10, xmm10);
            a.fxrstor64(__[rbx]);
            a.movq(r14, xmm10);
        });
        Assert.Equal(0x5555_6666_7777_8888UL, m.Reg(GeneralRegister.R14));
    }

    [Fact]
    public void Movdqa_reads_and_writes_sixteen_bytes_at_a_high_half_address_with_a_null_ds()
    {
        var m = RunSse(a =>
        {
            NullDs(a);
            a.mov(rbx, H.HighHalf + H.DataAddress);
            a.mov(rax, 0x0123_4567_89AB_CDEFUL);
            a.mov(__qword_ptr[rbx], rax);
            a.mov(__qword_ptr[rbx + 8], rax);
            a.movdqa(xmm11, __xmmword_ptr[rbx]);
            a.movdqa(__xmmword_ptr[rbx + 16], xmm11);
        });
        Assert.Equal(0x0123_4567_89AB_CDEFUL, m.Qword(H.DataAddress + 16));
        Assert.Equal(0x0123_4567_89AB_CDEFUL, m.Qword(H.DataAddress + 24));
        Assert.Equal((UInt128.One << 64) * 0x0123_4567_89AB_CDEFUL + 0x0123_4567_89AB_CDEFUL, m.Cpu.GetXmm(11));
    }
}
