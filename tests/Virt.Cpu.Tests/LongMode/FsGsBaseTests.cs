using Xunit;
using static Iced.Intel.AssemblerRegisters;
using H = Virt.Cpu.Tests.LongMode.LongModeHarness;

namespace Virt.Cpu.Tests.LongMode;

/// <summary>
/// RDFSBASE, RDGSBASE, WRFSBASE and WRGSBASE (System/Cpu.FsGsBase.cs; Intel SDM Vol. 2C), CR4.FSGSBASE and
/// CPUID.(EAX=07h,ECX=0):EBX.FSGSBASE.
/// </summary>
public sealed class FsGsBaseTests
{
    private const int Cr4Fsgsbase = 16;

    private static void EnableFsGsBase(Iced.Intel.Assembler a)
    {
        a.mov(rax, cr4);
        a.bts(rax, Cr4Fsgsbase);
        a.mov(cr4, rax);
    }

    [Fact]
    public void Wr_and_rd_fs_gs_base_move_64_bit_bases_and_the_32_bit_forms_zero_extend()
    {
        var m = new H();
        m.Run(a =>
        {
            EnableFsGsBase(a);
            a.mov(rax, 0xFFFF_8000_1234_5000UL);
            a.wrfsbase(rax);
            a.rdfsbase(rbx);
            a.mov(rcx, 0x1111_2222_9876_5432UL);
            a.wrgsbase(ecx); // 32-bit source: zero-extended
            a.rdgsbase(rdx);
            a.mov(rsi, ulong.MaxValue);
            a.rdfsbase(esi); // 32-bit destination: the low half, upper half cleared
            a.hlt();
        });

        Assert.Equal(-1, m.Cpu.LastExceptionVector);
        Assert.Equal(0xFFFF_8000_1234_5000UL, m.Reg(GeneralRegister.Rbx));
        Assert.Equal(0x9876_5432UL, m.Reg(GeneralRegister.Rdx));
        Assert.Equal(0x1234_5000UL, m.Reg(GeneralRegister.Rsi));
        Assert.Equal(0xFFFF_8000_1234_5000UL, m.Cpu.GetSegment(SegmentRegister.Fs).Base);
        Assert.Equal(0x9876_5432UL, m.Cpu.GetSegment(SegmentRegister.Gs).Base);
    }

    [Fact]
    public void Without_cr4_fsgsbase_the_instructions_are_ud()
    {
        var m = new H();
        m.Run(a =>
        {
            a.rdfsbase(rax);
            a.hlt();
        });

        Assert.Equal(6, m.Cpu.LastExceptionVector);
        Assert.Equal(H.HaltedIn(6), m.Cpu.Rip);
    }

    [Fact]
    public void Wrfsbase_with_a_non_canonical_value_is_gp_and_keeps_the_base()
    {
        var m = new H();
        m.Run(a =>
        {
            EnableFsGsBase(a);
            a.mov(rax, 0x0000_8000_0000_0000UL);
            a.wrfsbase(rax);
            a.hlt();
        });

        Assert.Equal(13, m.Cpu.LastExceptionVector);
        Assert.Equal(0UL, m.Cpu.GetSegment(SegmentRegister.Fs).Base);
    }

    [Fact]
    public void Default_model_advertises_fsgsbase_in_leaf_7()
    {
        var m = new H();
        m.Run(a =>
        {
            a.mov(eax, 7);
            a.xor(ecx, ecx);
            a.cpuid();
            a.hlt();
        });

        Assert.Equal(1UL, m.Reg(GeneralRegister.Rbx) & 1);
    }

    [Fact]
    public void Cr4_fsgsbase_is_not_writable_when_the_model_does_not_advertise_it()
    {
        var m = new H(CpuidModel.Default with { StructuredExtendedFeaturesEbx = 0 });
        m.Run(a =>
        {
            EnableFsGsBase(a);
            a.hlt();
        });

        Assert.Equal(13, m.Cpu.LastExceptionVector);
        Assert.Equal(0UL, m.Cpu.Cr4 & (1UL << Cr4Fsgsbase));
    }
}
