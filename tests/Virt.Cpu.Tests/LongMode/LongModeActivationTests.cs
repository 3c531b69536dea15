using Virt.Cpu.Tests.ProtectedMode;
using Xunit;
using static Iced.Intel.AssemblerRegisters;
using H = Virt.Cpu.Tests.LongMode.LongModeHarness;

namespace Virt.Cpu.Tests.LongMode;

/// <summary>IA-32e mode activation and deactivation and the #GP checks of Intel SDM Vol. 3A, 10.8.5 (System/Cpu.LongMode.cs).</summary>
public sealed class LongModeActivationTests
{
    private const ulong EferLme = 1UL << 8;
    private const ulong EferLma = 1UL << 10;

    [Fact]
    public void Entering_through_cr0_pg_with_lme_activates_ia32e_mode_and_a_far_jump_reaches_64_bit_code()
    {
        var m = new H();
        Assert.Equal(StopReason.Halted, m.Run(a =>
        {
            a.mov(rax, 0x1234_5678_9ABC_DEF0); // a 64-bit immediate only decodes in 64-bit mode
            a.hlt();
        }));
        Assert.Equal(-1, m.Cpu.LastExceptionVector);
        Assert.Equal(0x1234_5678_9ABC_DEF0UL, m.Reg(GeneralRegister.Rax));
        Assert.Equal(EferLme | EferLma, m.Cpu.Efer & (EferLme | EferLma));
        Assert.Equal(H.Code64, m.Cpu.GetSegment(SegmentRegister.Cs).Selector);
        Assert.Equal((ulong)H.TssAddress, m.Cpu.GetSegment(SegmentRegister.Cs).Base + H.TssAddress); // flat CS
    }

    [Fact]
    public void Setting_pg_with_lme_but_without_pae_is_gp_and_leaves_lma_clear()
    {
        var m = new ProtectedModeHarness();
        m.InstallGate(13);
        m.Run(a =>
        {
            a.mov(ecx, H.MsrEfer);
            a.xor(edx, edx);
            a.mov(eax, 1 << 8);
            a.wrmsr();
            a.mov(eax, 0x70000);
            a.mov(cr3, eax);
            a.mov(eax, cr0);
            a.or(eax, 1u << 31);
            a.mov(cr0, eax);
            a.hlt();
        });
        Assert.Equal(13, m.Cpu.LastExceptionVector);
        Assert.Equal(EferLme, m.Cpu.Efer & (EferLme | EferLma));
        Assert.Equal(0UL, m.Cpu.Cr0 & (1UL << 31));
    }

    [Fact]
    public void Changing_lme_while_paging_is_on_is_gp()
    {
        var m = new H();
        m.Run(a =>
        {
            a.mov(ecx, H.MsrEfer);
            a.rdmsr();
            a.and(eax, ~(1 << 8)); // clear LME with CR0.PG set
            a.wrmsr();
            a.hlt();
        });
        Assert.Equal(13, m.Cpu.LastExceptionVector);
        Assert.Equal(H.HaltedIn(13), m.Cpu.Rip);
        Assert.Equal(EferLme | EferLma, m.Cpu.Efer & (EferLme | EferLma));
    }

    [Fact]
    public void Clearing_pg_in_64_bit_mode_is_gp()
    {
        var m = new H();
        m.Run(a =>
        {
            a.mov(rax, cr0);
            a.btr(rax, 31);
            a.mov(cr0, rax);
            a.hlt();
        });
        Assert.Equal(13, m.Cpu.LastExceptionVector);
        Assert.NotEqual(0UL, m.Cpu.Efer & EferLma);
    }

    [Fact]
    public void Clearing_pae_in_ia32e_mode_is_gp()
    {
        var m = new H();
        m.Run(a =>
        {
            a.mov(rax, cr4);
            a.btr(rax, 5);
            a.mov(cr4, rax);
            a.hlt();
        });
        Assert.Equal(13, m.Cpu.LastExceptionVector);
    }

    [Fact]
    public void Leaving_through_compatibility_mode_clears_lma_and_returns_to_32_bit_protected_mode()
    {
        // 64-bit code jumps far (m16:32) to 32-bit code, which clears CR0.PG (LMA goes with it) and runs on as legacy
        // protected mode: the same bytes 48 40 then decode as DEC EAX / INC EAX instead of a REX prefix.
        var m = new H();
        byte[] code32 = H.Assemble(32, a =>
        {
            a.mov(eax, cr0);
            a.and(eax, 0x7FFF_FFFF);
            a.mov(cr0, eax);
            a.mov(eax, 5);
            a.db(0x48); // DEC EAX outside 64-bit mode
            a.hlt();
        }, H.CodeAddress + 0x40);
        m.Memory.Write(new Virt.Memory.PhysicalAddress(H.CodeAddress + 0x40), code32);
        m.Cpu.FlushDecodeCache();
        m.Load(a =>
        {
            var pointer = a.CreateLabel();
            a.jmp(__fword_ptr[pointer]);
            a.Label(ref pointer);
            a.dd(H.CodeAddress + 0x40);
            a.dw(H.Code32);
        });
        m.Memory.Write(new Virt.Memory.PhysicalAddress(H.CodeAddress + 0x40), code32);
        m.Cpu.FlushDecodeCache();
        Assert.Equal(StopReason.Halted, m.Cpu.Run(10_000));
        Assert.Equal(-1, m.Cpu.LastExceptionVector);
        Assert.Equal(0UL, m.Cpu.Efer & EferLma);
        Assert.Equal(4UL, m.Reg(GeneralRegister.Rax));
    }

    [Fact]
    public void A_32_bit_model_refuses_lme()
    {
        var m = new ProtectedModeHarness(CpuidModel.P6);
        m.InstallGate(13);
        m.Run(a =>
        {
            a.mov(ecx, H.MsrEfer);
            a.xor(edx, edx);
            a.mov(eax, 1 << 8);
            a.wrmsr();
            a.hlt();
        });
        Assert.Equal(13, m.Cpu.LastExceptionVector);
        Assert.Equal(0UL, m.Cpu.Efer);
    }
}
