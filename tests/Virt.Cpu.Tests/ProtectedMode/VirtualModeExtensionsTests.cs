using Virt.Memory;
using Xunit;
using static Iced.Intel.AssemblerRegisters;
using H = Virt.Cpu.Tests.ProtectedMode.ProtectedModeHarness;
using V = Virt.Cpu.Tests.ProtectedMode.Virtual8086Harness;

namespace Virt.Cpu.Tests.ProtectedMode;

/// <summary>
/// The virtual-mode extensions (CR4.VME: VIF, VIP and the software interrupt redirection bitmap; Intel SDM Vol. 3A, 20.3)
/// and protected-mode virtual interrupts (CR4.PVI; SDM Vol. 3A, 20.4).
/// </summary>
public sealed class VirtualModeExtensionsTests
{
    private const uint Vme = 1;
    private const uint Pvi = 2;
    private const int Vector = 0x50;

    private static V StartWithGpHandler(byte[] v86, uint eflags, uint cr4)
    {
        var m = new V();
        m.LoadBytes(v86, eflags, cr4);
        m.Machine.InstallGate(13);
        return m;
    }

    private static void AssertGpAt(V m, uint eip, uint eflags)
    {
        Assert.Equal(13, m.Cpu.LastExceptionVector);
        Assert.Equal(0u, m.Pushed(10));
        Assert.Equal(eflags | 0x10000, m.Pushed(7)); // a fault pushes RF = 1 (Intel SDM Vol. 3B, 17.3.1.1)
        Assert.Equal(V.V86Cs, m.Pushed(8));
        Assert.Equal(eip, m.Pushed(9));
    }

    [Fact]
    public void Cli_and_sti_toggle_vif_and_pushf_shows_vif_in_the_if_position_with_iopl_3()
    {
        byte[] prefix = V.Code16(a =>
        {
            a.sti();
            a.pushf();
            a.pop(ax);
            a.cli();
            a.pushf();
            a.pop(bx);
        });
        var m = StartWithGpHandler([.. prefix, 0xF4], eflags: 0x200, cr4: Vme); // IF = 1, IOPL = 0
        Assert.Equal(StopReason.Halted, m.Run());
        Assert.Equal(0x3202UL, m.Reg(GeneralRegister.Rax) & 0xFFFF); // VIF = 1 read as IF, IOPL read as 3
        Assert.Equal(0x3002UL, m.Reg(GeneralRegister.Rbx) & 0xFFFF);
        AssertGpAt(m, (uint)prefix.Length, V.FlagVm | 0x200 | 2); // HLT: #GP; the real IF never changed, VIF is clear
    }

    [Fact]
    public void Sti_sets_vif_and_leaves_if_clear()
    {
        var m = StartWithGpHandler([0xFB, 0xF4], eflags: 0, cr4: Vme);
        Assert.Equal(StopReason.Halted, m.Run());
        AssertGpAt(m, 1, V.FlagVm | V.FlagVif | 2);
    }

    [Fact]
    public void Popf_loads_vif_from_the_image_and_keeps_if_and_iopl()
    {
        byte[] prefix = V.Code16(a =>
        {
            a.push(0x0201); // IF and CF, IOPL 0
            a.popf();
        });
        var m = StartWithGpHandler([.. prefix, 0xF4], eflags: 0x1000, cr4: Vme); // IOPL 1, IF 0
        Assert.Equal(StopReason.Halted, m.Run());
        AssertGpAt(m, (uint)prefix.Length, V.FlagVm | V.FlagVif | 0x1000 | 1 | 2);
    }

    [Theory]
    [InlineData(0x0100, false, false, "POPF with TF")]
    [InlineData(0x0200, true, false, "POPF setting IF while VIP")]
    [InlineData(0x0100, false, true, "IRET with TF")]
    [InlineData(0x0200, true, true, "IRET setting IF while VIP")]
    public void Popf_or_iret_with_tf_or_with_if_while_vip_is_gp(int image, bool vip, bool iret, string name)
    {
        byte[] prefix = V.Code16(a =>
        {
            a.push(image);
            if (iret)
            {
                a.push(V.V86Cs);
                a.push(0x80);
            }
        });
        uint eflags = vip ? V.FlagVip : 0;
        var m = StartWithGpHandler([.. prefix, iret ? (byte)0xCF : (byte)0x9D], eflags, cr4: Vme);
        Assert.Equal(StopReason.Halted, m.Run());
        Assert.True(m.Cpu.LastExceptionVector == 13, name);
        AssertGpAt(m, (uint)prefix.Length, V.FlagVm | eflags | 2);
    }

    [Theory]
    [InlineData("669C", "PUSHFD")]
    [InlineData("669D", "POPFD")]
    [InlineData("66CF", "IRETD")]
    public void Thirty_two_bit_flag_instructions_still_trap_under_vme(string hex, string name)
    {
        var m = StartWithGpHandler(Convert.FromHexString(hex), eflags: 0, cr4: Vme);
        Assert.Equal(StopReason.Halted, m.Run());
        Assert.True(m.Cpu.LastExceptionVector == 13, name);
        AssertGpAt(m, 0, V.FlagVm | 2);
    }

    [Fact]
    public void Sti_with_a_virtual_interrupt_pending_is_gp()
    {
        var m = StartWithGpHandler([0xFB], eflags: V.FlagVip, cr4: Vme);
        Assert.Equal(StopReason.Halted, m.Run());
        AssertGpAt(m, 0, V.FlagVm | V.FlagVip | 2); // VIF stays clear
    }

    [Theory]
    [InlineData(0u, V.FlagVm | V.FlagVif | 2)] // method 6: VIF pushed as IF, IOPL as 3; VIF cleared
    [InlineData(V.Iopl3, V.FlagVm | V.Iopl3 | 0x200 | 2)] // method 5: the real FLAGS; IF cleared
    public void Int_n_with_a_clear_redirection_bit_goes_through_the_8086_vector_table(uint iopl, uint finalEflags)
    {
        var m = new V();
        m.Redirect(Vector);
        m.Memory.WriteWord(new PhysicalAddress(Vector * 4), 0x0100); // IVT at linear 0: 2000:0100
        m.Memory.WriteWord(new PhysicalAddress((Vector * 4) + 2), V.V86Cs);
        m.Memory.Write(new PhysicalAddress(((uint)V.V86Cs << 4) + 0x100), V.Code16(a =>
        {
            a.mov(bp, sp);
            a.mov(si, __word_ptr[bp]); // return IP
            a.mov(di, __word_ptr[bp + 2]); // return CS
            a.mov(ax, __word_ptr[bp + 4]); // pushed FLAGS
            a.pushf();
            a.pop(cx);
            a.iret();
        }));
        byte[] prefix = V.Code16(a =>
        {
            a.sti();
            a.@int(Vector);
            a.pushf();
            a.pop(dx);
        });
        m.LoadBytes([.. prefix, 0xF4], iopl, Vme);
        m.Machine.InstallGate(13);
        m.Machine.InstallGate(Vector, dpl: 3);
        Assert.Equal(StopReason.Halted, m.Run());
        Assert.Equal(3UL, m.Reg(GeneralRegister.Rsi) & 0xFFFF);
        Assert.Equal((ulong)V.V86Cs, m.Reg(GeneralRegister.Rdi) & 0xFFFF);
        Assert.Equal(0x3202UL, m.Reg(GeneralRegister.Rax) & 0xFFFF); // IF (or VIF) was set by STI
        Assert.Equal(0x3002UL, m.Reg(GeneralRegister.Rcx) & 0xFFFF); // cleared on entry to the 8086 handler
        Assert.Equal(0x3202UL, m.Reg(GeneralRegister.Rdx) & 0xFFFF); // and restored by its IRET
        AssertGpAt(m, (uint)prefix.Length, finalEflags); // the HLT, not INT 50h, reached the monitor
    }

    [Theory]
    [InlineData(0u, 13, 0u)] // method 3: #GP(0) at the INT
    [InlineData(V.Iopl3, -1, 2u)] // method 4: the protected-mode handler, as without VME
    public void Int_n_with_a_set_redirection_bit_goes_to_the_monitor(uint iopl, int exception, uint eip)
    {
        var m = new V();
        m.LoadBytes([0xCD, Vector], iopl, Vme);
        m.Machine.InstallGate(13);
        m.Machine.InstallGate(Vector, dpl: 3);
        Assert.Equal(StopReason.Halted, m.Run());
        Assert.Equal(exception, m.Cpu.LastExceptionVector);
        Assert.Equal(eip, m.Pushed(9));
        Assert.Equal(exception == 13 ? H.HandlerAddress(13) + 1 : H.HandlerAddress(Vector) + 1, m.Cpu.Eip);
    }

    [Fact]
    public void Int3_is_never_redirected()
    {
        var m = new V();
        m.Redirect(3);
        m.Memory.WriteWord(new PhysicalAddress(3 * 4), 0x0100);
        m.Memory.WriteWord(new PhysicalAddress((3 * 4) + 2), V.V86Cs);
        m.Memory.WriteByte(new PhysicalAddress(((uint)V.V86Cs << 4) + 0x100), 0xF4);
        m.LoadBytes([0xCC], 0, Vme);
        m.Machine.InstallGate(3, dpl: 3);
        m.Machine.InstallGate(13);
        Assert.Equal(StopReason.Halted, m.Run());
        Assert.Equal(H.HandlerAddress(3) + 1, m.Cpu.Eip);
        Assert.Equal(1u, m.Pushed(9));
    }

    private const uint Ring3Code = 0x12000;

    private static H EnterRing3WithCr4(byte[] ring3, uint cr4Value, uint eflags)
    {
        var m = new H();
        m.Memory.Write(new PhysicalAddress(Ring3Code), ring3);
        m.Load(a =>
        {
            a.mov(eax, cr4Value);
            a.mov(cr4, eax);
            a.mov(ax, H.Tss32);
            a.ltr(ax);
            a.push(H.Dpl3Data | 3);
            a.push(0x7F000);
            a.push((int)(eflags | 2));
            a.push(H.Code3 | 3);
            a.push((int)Ring3Code);
            a.iretd();
        });
        m.InstallGate(13);
        return m;
    }

    [Fact]
    public void Pvi_lets_cpl_3_cli_and_sti_toggle_vif()
    {
        byte[] code = H.Assemble(32, a =>
        {
            a.sti();
            a.pushfd();
            a.pop(eax);
            a.cli();
            a.pushfd();
            a.pop(ebx);
            a.hlt();
        }, Ring3Code);
        H m = EnterRing3WithCr4(code, Pvi, 0);
        m.Cpu.Run(1000);
        Assert.Equal(13, m.Cpu.LastExceptionVector);
        Assert.Equal(0x80002UL, m.Reg(GeneralRegister.Rax)); // VIF set, IF clear
        Assert.Equal(0x2UL, m.Reg(GeneralRegister.Rbx));
        Assert.Equal(Ring3Code + (uint)code.Length - 1, m.Dword(0x70000 - 20)); // the HLT faulted
    }

    [Theory]
    [InlineData(0u, 0u)] // no PVI: CPL > IOPL is #GP
    [InlineData(Pvi, V.FlagVip)] // PVI with a pending virtual interrupt: #GP
    public void Cpl_3_sti_is_gp_without_pvi_or_with_vip(uint cr4, uint eflags)
    {
        H m = EnterRing3WithCr4([0xFB], cr4 == 0 ? 0x10 /* PSE: any accepted bit */ : cr4, eflags);
        m.Cpu.Run(1000);
        Assert.Equal(13, m.Cpu.LastExceptionVector);
        Assert.Equal(Ring3Code, m.Dword(0x70000 - 20));
    }
}
