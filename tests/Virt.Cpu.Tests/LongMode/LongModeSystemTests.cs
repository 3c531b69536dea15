using Iced.Intel;
using Virt.Memory;
using Xunit;
using static Iced.Intel.AssemblerRegisters;
using H = Virt.Cpu.Tests.LongMode.LongModeHarness;

namespace Virt.Cpu.Tests.LongMode;

/// <summary>
/// 64-bit interrupt delivery and IRETQ (System/Cpu.LongModeInterrupts.cs), SYSCALL/SYSRET and SWAPGS
/// (System/Cpu.LongMode.cs): Intel SDM Vol. 3A, 6.14 and Vol. 2B, SYSCALL, SYSRET, SWAPGS.
/// </summary>
public sealed class LongModeSystemTests
{
    private const uint MsrStar = 0xC000_0081;
    private const uint MsrLstar = 0xC000_0082;
    private const uint MsrSfmask = 0xC000_0084;
    private const uint MsrGsBase = 0xC000_0101;
    private const uint MsrKernelGsBase = 0xC000_0102;
    private const uint MsrTscAux = 0xC000_0103;

    private static void WriteMsr(Assembler a, uint msr, ulong value)
    {
        a.mov(ecx, msr);
        a.mov(eax, (uint)value);
        a.mov(edx, (uint)(value >> 32));
        a.wrmsr();
    }

    [Fact]
    public void Int_n_pushes_ss_rsp_rflags_cs_rip_on_a_16_byte_aligned_stack()
    {
        var m = new H();
        m.Run(a =>
        {
            a.mov(rsp, 0x7F008); // not 16-byte aligned
            a.@int(0x40);
            a.hlt();
        });
        Assert.Equal(H.HaltedIn(0x40), m.Cpu.Rip);
        ulong stack = m.Reg(GeneralRegister.Rsp);
        Assert.Equal(0x7F000UL - 40, stack); // aligned down, then five quadwords
        Assert.Equal(H.CodeAddress + 10UL + 2, m.Qword(stack)); // RIP after MOV RSP, imm64 (10 bytes) and INT 40h
        Assert.Equal((ulong)H.Code64, m.Qword(stack + 8));
        Assert.Equal(0x2UL, m.Qword(stack + 16) & 0x2); // RFLAGS (bit 1 always set)
        Assert.Equal(0x7F008UL, m.Qword(stack + 24)); // the old RSP, pushed even without a privilege change
        Assert.Equal((ulong)H.Data, m.Qword(stack + 32));
    }

    [Fact]
    public void A_gate_with_an_ist_index_switches_to_that_stack_even_at_the_same_level()
    {
        var m = new H();
        m.Load(a =>
        {
            a.mov(rsp, 0x7F000);
            a.@int(0x41);
            a.hlt();
        });
        m.SetGate(0x41, H.HandlerAddress(0x41), ist: 1);
        m.Cpu.Run(10_000);
        Assert.Equal(H.HaltedIn(0x41), m.Cpu.Rip);
        ulong stack = m.Reg(GeneralRegister.Rsp);
        Assert.Equal((H.Ist1Top & ~0xFUL) - 40, stack);
        Assert.Equal(0x7F000UL, m.Qword(stack + 24));
    }

    [Fact]
    public void Iretq_returns_from_a_handler_and_restores_rsp_and_rflags()
    {
        var m = new H();
        m.Load(a =>
        {
            a.mov(rsp, 0x7F008);
            a.mov(rbx, 0);
            a.sti();
            a.@int(0x42);
            a.pushfq();
            a.pop(rdx);
            a.mov(rsi, rsp);
            a.hlt();
        });
        m.Memory.Write(new PhysicalAddress(H.HandlerAddress(0x42)), H.Assemble(64, a =>
        {
            a.pushfq();
            a.pop(rcx); // IF cleared by the interrupt gate
            a.add(rbx, 1);
            a.iretq();
        }, H.HandlerAddress(0x42)));
        m.Cpu.Run(10_000);
        Assert.Equal(-1, m.Cpu.LastExceptionVector);
        Assert.Equal(1UL, m.Reg(GeneralRegister.Rbx));
        Assert.Equal(0UL, m.Reg(GeneralRegister.Rcx) & 0x200);
        Assert.Equal(0x200UL, m.Reg(GeneralRegister.Rdx) & 0x200);
        Assert.Equal(0x7F008UL, m.Reg(GeneralRegister.Rsi));
    }

    [Fact]
    public void Iretq_to_user_mode_then_int_from_cpl3_switches_to_rsp0_with_a_null_ss()
    {
        var m = new H();
        m.Load(a =>
        {
            var user = a.CreateLabel();
            a.mov(rsp, 0x7F000);
            a.push(H.DataUser | 3);
            a.push(0x7E000);
            a.push(0x202);
            a.push(H.Code64User | 3);
            a.lea(rax, __[user]);
            a.push(rax);
            a.iretq();
            a.Label(ref user);
            a.mov(rbx, 0x3333);
            a.@int(0x43);
            a.hlt();
        });
        m.SetGate(0x43, H.HandlerAddress(0x43), dpl: 3);
        m.Cpu.Run(10_000);
        Assert.Equal(H.HaltedIn(0x43), m.Cpu.Rip);
        Assert.Equal(0x3333UL, m.Reg(GeneralRegister.Rbx));
        Assert.Equal(0, m.Cpu.Cpl);
        ulong stack = m.Reg(GeneralRegister.Rsp);
        Assert.Equal(H.Rsp0Top - 40UL, stack);
        Assert.Equal((ulong)(H.Code64User | 3), m.Qword(stack + 8));
        Assert.Equal(0x7E000UL, m.Qword(stack + 24));
        Assert.Equal((ulong)(H.DataUser | 3), m.Qword(stack + 32));
        Assert.Equal(0, m.Cpu.GetSegment(SegmentRegister.Ss).Selector); // null SS with RPL 0
    }

    [Fact]
    public void An_int_from_cpl3_through_a_dpl0_gate_is_gp_with_the_gate_in_the_error_code()
    {
        var m = new H();
        m.Load(a =>
        {
            var user = a.CreateLabel();
            a.push(H.DataUser | 3);
            a.push(0x7E000);
            a.push(0x2);
            a.push(H.Code64User | 3);
            a.lea(rax, __[user]);
            a.push(rax);
            a.iretq();
            a.Label(ref user);
            a.@int(0x44);
            a.hlt();
        });
        m.Cpu.Run(10_000);
        Assert.Equal(13, m.Cpu.LastExceptionVector);
        Assert.Equal((0x44UL * 8) + 2, m.Qword(m.Reg(GeneralRegister.Rsp))); // IDT bit set, index 44h
    }

    [Fact]
    public void Syscall_and_sysret_round_trip_between_cpl0_and_cpl3()
    {
        var m = new H();
        m.Run(a =>
        {
            var user = a.CreateLabel();
            var kernel = a.CreateLabel();
            var afterSyscall = a.CreateLabel();
            WriteMsr(a, MsrStar, (0x18UL << 48) | ((ulong)H.Code64 << 32));
            a.lea(rax, __[kernel]);
            a.mov(rdx, rax);
            a.shr(rdx, 32);
            a.mov(ecx, MsrLstar);
            a.wrmsr();
            WriteMsr(a, MsrSfmask, 0x200); // clear IF on entry
            a.lea(rcx, __[user]);
            a.mov(r11, 0x202);
            a.sysretq();
            a.Label(ref user);
            a.mov(r12, cs);
            a.mov(r13, ss);
            a.mov(rax, 60);
            a.syscall();
            a.Label(ref afterSyscall);
            a.hlt();
            a.Label(ref kernel);
            a.mov(r14, cs);
            a.mov(r15, ss);
            a.lea(rbx, __[afterSyscall]);
            a.hlt();
        });
        Assert.Equal(-1, m.Cpu.LastExceptionVector);
        Assert.Equal(0, m.Cpu.Cpl);
        Assert.Equal((ulong)(0x28 | 3), m.Reg(GeneralRegister.R12)); // SYSRET: CS = STAR[63:48] + 16, RPL 3
        Assert.Equal((ulong)(0x20 | 3), m.Reg(GeneralRegister.R13)); // SS = STAR[63:48] + 8
        Assert.Equal((ulong)H.Code64, m.Reg(GeneralRegister.R14)); // SYSCALL: CS = STAR[47:32]
        Assert.Equal((ulong)H.Data, m.Reg(GeneralRegister.R15)); // SS = that + 8
        Assert.Equal(m.Reg(GeneralRegister.Rbx), m.Reg(GeneralRegister.Rcx)); // RCX = the RIP after SYSCALL
        Assert.Equal(0x202UL, m.Reg(GeneralRegister.R11) & 0x202); // R11 = RFLAGS at SYSCALL
        Assert.Equal(0UL, m.Cpu.Flags & 0x200UL); // IF masked by SFMASK
        Assert.Equal(60UL, m.Reg(GeneralRegister.Rax));
    }

    [Fact]
    public void Syscall_without_efer_sce_is_ud_and_sysret_at_cpl3_is_gp()
    {
        var m = new H();
        m.Run(a =>
        {
            a.mov(ecx, H.MsrEfer);
            a.rdmsr();
            a.and(eax, ~1); // SCE off
            a.wrmsr();
            a.syscall();
            a.hlt();
        });
        Assert.Equal(6, m.Cpu.LastExceptionVector);
    }

    [Fact]
    public void A_null_ss_loads_in_64_bit_mode_at_cpl0_and_the_stack_still_works()
    {
        var m = new H();
        m.Run(a =>
        {
            a.xor(eax, eax);
            a.mov(ss, ax);
            a.push(0x55);
            a.pop(rbx);
            a.hlt();
        });
        Assert.Equal(-1, m.Cpu.LastExceptionVector);
        Assert.Equal(0, m.Cpu.GetSegment(SegmentRegister.Ss).Selector);
        Assert.Equal(0x55UL, m.Reg(GeneralRegister.Rbx));
    }

    [Fact]
    public void Swapgs_exchanges_gs_base_with_kernel_gs_base()
    {
        var m = new H();
        m.Memory.WriteQuadWord(new PhysicalAddress(H.DataAddress), 0x1111);
        m.Memory.WriteQuadWord(new PhysicalAddress(H.DataAddress + 0x100), 0x2222);
        m.Run(a =>
        {
            WriteMsr(a, MsrGsBase, H.DataAddress);
            WriteMsr(a, MsrKernelGsBase, H.DataAddress + 0x100);
            a.mov(rbx, __qword_ptr.gs[0]);
            a.swapgs();
            a.mov(rsi, __qword_ptr.gs[0]);
            a.mov(ecx, MsrKernelGsBase);
            a.rdmsr();
            a.hlt();
        });
        Assert.Equal(-1, m.Cpu.LastExceptionVector);
        Assert.Equal(0x1111UL, m.Reg(GeneralRegister.Rbx));
        Assert.Equal(0x2222UL, m.Reg(GeneralRegister.Rsi));
        Assert.Equal((ulong)H.DataAddress, m.Reg(GeneralRegister.Rax));
    }

    [Fact]
    public void Rdtscp_returns_tsc_aux_in_ecx_and_a_non_canonical_gs_base_is_gp()
    {
        var m = new H();
        m.Run(a =>
        {
            WriteMsr(a, MsrTscAux, 0x42);
            a.rdtscp();
            a.mov(rbx, rcx);
            WriteMsr(a, MsrGsBase, 0x0000_8000_0000_0000);
            a.hlt();
        });
        Assert.Equal(0x42UL, m.Reg(GeneralRegister.Rbx));
        Assert.Equal(13, m.Cpu.LastExceptionVector);
    }

    [Fact]
    public void Sysret_to_compatibility_mode_and_an_int_back_into_64_bit_mode()
    {
        // SYSRET without REX.W goes to the 32-bit user code segment (STAR[63:48]); the 32-bit code there runs in
        // compatibility mode and INT 45h brings it back to the 64-bit handler with a 64-bit frame.
        var m = new H();
        const uint compatCode = H.CodeAddress + 0x800;
        m.Memory.Write(new PhysicalAddress(compatCode), H.Assemble(32, a =>
        {
            a.mov(eax, 0x1234_5678);
            a.db(0x48); // DEC EAX in compatibility mode (a REX prefix only in 64-bit mode)
            a.@int(0x45);
        }, compatCode));
        m.Load(a =>
        {
            WriteMsr(a, MsrStar, (0x18UL << 48) | ((ulong)H.Code64 << 32));
            a.mov(ecx, compatCode);
            a.mov(r11, 0x2);
            a.mov(rsp, 0x7E000);
            a.sysret();
        });
        m.SetGate(0x45, H.HandlerAddress(0x45), dpl: 3);
        m.Cpu.Run(10_000);
        Assert.Equal(H.HaltedIn(0x45), m.Cpu.Rip);
        Assert.Equal(0x1234_5677UL, m.Reg(GeneralRegister.Rax));
        ulong stack = m.Reg(GeneralRegister.Rsp);
        Assert.Equal((ulong)(H.Code32User | 3), m.Qword(stack + 8));
        Assert.Equal(compatCode + 5UL + 1 + 2, m.Qword(stack));
    }
}
