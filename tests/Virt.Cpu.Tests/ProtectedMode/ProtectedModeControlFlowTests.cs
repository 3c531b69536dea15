using Virt.Memory;
using Xunit;
using static Iced.Intel.AssemblerRegisters;
using H = Virt.Cpu.Tests.ProtectedMode.ProtectedModeHarness;

namespace Virt.Cpu.Tests.ProtectedMode;

/// <summary>Far transfers, IDT dispatch, IRET and the double and triple fault in protected mode (Intel SDM Vol. 3A, chapters 5 and 6).</summary>
public sealed class ProtectedModeControlFlowTests
{
    [Fact]
    public void Far_call_to_a_16_bit_code_segment_and_retf_back()
    {
        var m = new H();

        // 16-bit code at 6000h (selector 18h, base 0): in a 16-bit segment "mov eax, imm" needs 66h, B8 without it is MOV AX.
        m.Memory.Write(new PhysicalAddress(0x6000), H.Assemble(16, a =>
        {
            a.mov(ax, 0x1234);
            a.db(0x66, 0xCB); // RETF with a 32-bit operand: pops EIP and CS (as dwords)
        }, 0x6000));
        m.Run(a =>
        {
            a.mov(eax, 0xFFFF_FFFF);
            a.call(H.Code16, 0x6000); // CALL FAR 0018:00006000
            a.mov(ebx, eax);
            a.hlt();
        });
        Assert.Equal(-1, m.Cpu.LastExceptionVector);
        Assert.Equal(0xFFFF_1234UL, m.Reg(GeneralRegister.Rbx));
        Assert.Equal(H.StackTop, (uint)m.Reg(GeneralRegister.Rsp));
        Assert.Equal(H.FlatCode, m.Cpu.GetSegment(SegmentRegister.Cs).Selector);
    }

    [Fact]
    public void Far_jump_to_a_data_segment_is_gp_selector()
    {
        var m = new H();
        m.InstallGate(13);
        m.Run(a =>
        {
            a.jmp(H.FlatData, 0x1000);
            a.hlt();
        });
        Assert.Equal(13, m.Cpu.LastExceptionVector);
        Assert.Equal((uint)H.FlatData, m.Dword(H.StackTop - 16));
        Assert.Equal(H.CodeAddress, m.Dword(H.StackTop - 12));
    }

    [Fact]
    public void Int_through_an_interrupt_gate_clears_if_and_iret_returns()
    {
        var m = new H();
        uint handler = H.HandlerAddress(0x40);
        m.Memory.Write(new PhysicalAddress(handler), H.Assemble(32, a =>
        {
            a.pushfd();
            a.pop(ecx); // flags inside the handler
            a.mov(edx, __dword_ptr[esp + 8]); // pushed EFLAGS
            a.iretd();
        }, handler));
        ulong gate = (handler & 0xFFFFUL) | ((ulong)H.FlatCode << 16) | (0x8EUL << 40) | ((ulong)(handler >> 16) << 48);
        m.Memory.WriteQuadWord(new PhysicalAddress(H.IdtAddress + (0x40 * 8)), gate);
        m.Run(a =>
        {
            a.sti();
            a.@int(0x40);
            a.mov(ebx, 1);
            a.hlt();
        });
        Assert.Equal(-1, m.Cpu.LastExceptionVector);
        Assert.Equal(1UL, m.Reg(GeneralRegister.Rbx));
        Assert.Equal(0UL, m.Reg(GeneralRegister.Rcx) & 0x200); // IF cleared by the interrupt gate
        Assert.Equal(0x200UL, m.Reg(GeneralRegister.Rdx) & 0x200); // IF set in the pushed image
        Assert.Equal(0x200u, m.Cpu.Flags & 0x200); // restored by IRET
        Assert.Equal(H.StackTop, (uint)m.Reg(GeneralRegister.Rsp));
    }

    [Fact]
    public void Trap_gate_keeps_if()
    {
        var m = new H();
        m.InstallGate(0x41, type: 0xF);
        m.Run(a =>
        {
            a.sti();
            a.@int(0x41);
        });
        Assert.Equal(H.HandlerAddress(0x41) + 1, m.Cpu.Eip);
        Assert.Equal(0x200u, m.Cpu.Flags & 0x200);
        Assert.Equal(H.CodeAddress + 3, m.Dword(H.StackTop - 12)); // return address after INT 41h
    }

    [Fact]
    public void Software_int_through_a_gate_with_dpl_below_cpl_is_gp()
    {
        var m = new H();
        m.InstallGate(13);
        m.InstallGate(0x42);
        m.Memory.WriteQuadWord(new PhysicalAddress(H.IdtAddress + (0x42 * 8)), 0); // not a gate: #GP(42h * 8 + 2)
        m.Run(a =>
        {
            a.@int(0x42);
            a.hlt();
        });
        Assert.Equal(13, m.Cpu.LastExceptionVector);
        Assert.Equal((0x42u * 8) + 2, m.Dword(H.StackTop - 16));
    }

    [Fact]
    public void Fault_without_a_gate_becomes_a_double_fault_with_error_code_zero()
    {
        var m = new H();
        m.InstallGate(8);
        m.Run(a =>
        {
            a.mov(ax, 0x100);
            a.mov(ds, ax); // #GP(100h), but IDT entry 13 is empty: #GP again, contributory twice: #DF
            a.hlt();
        });
        Assert.Equal(8, m.Cpu.LastExceptionVector);
        Assert.Equal(H.HandlerAddress(8) + 1, m.Cpu.Eip);
        Assert.Equal(0u, m.Dword(H.StackTop - 16));
    }

    [Fact]
    public void Fault_while_delivering_a_double_fault_shuts_down()
    {
        var m = new H();
        Assert.Equal(StopReason.Shutdown, m.Run(a =>
        {
            a.mov(ax, 0x100);
            a.mov(ds, ax);
            a.hlt();
        }));
        Assert.True(m.Cpu.IsShutdown);
    }

    [Fact]
    public void Idt_limit_too_small_is_gp_with_the_idt_bit()
    {
        var m = new H();
        m.InstallGate(13);
        m.InstallGate(0x20);
        m.Load(a =>
        {
            a.@int(0x20);
            a.hlt();
        });
        m.Cpu.IdtLimit = (13 * 8) + 7;
        m.Cpu.Run(100);
        Assert.Equal(13, m.Cpu.LastExceptionVector);
        Assert.Equal((0x20u * 8) + 2, m.Dword(H.StackTop - 16));
    }

    [Fact]
    public void Retf_to_a_more_privileged_selector_is_gp()
    {
        var m = new H();
        m.InstallGate(13);
        m.Run(a =>
        {
            a.push(H.FlatCode); // RPL 0 = CPL: fine
            a.push(H.CodeAddress + 0x20);
            a.retf();
        });
        Assert.Equal(-1, m.Cpu.LastExceptionVector);
    }
}
