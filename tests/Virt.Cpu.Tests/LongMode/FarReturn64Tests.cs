using Iced.Intel;
using Xunit;
using static Iced.Intel.AssemblerRegisters;
using H = Virt.Cpu.Tests.LongMode.LongModeHarness;

namespace Virt.Cpu.Tests.LongMode;

/// <summary>
/// Far RET in 64-bit mode (System/Cpu.FarTransfers.cs, RetFar64): Intel SDM Vol. 2B, RET, "IA-32e mode". Debian's amd64
/// kernel reloads CS with RETFQ on a stack in the top half of the address space; Virt cut RSP and the offset to 32 bits.
/// </summary>
public sealed class FarReturn64Tests
{
    [Fact]
    public void Retfq_pops_a_64_bit_offset_from_a_high_half_stack_and_keeps_all_of_rsp()
    {
        var m = new H();
        m.Load(a =>
        {
            var target = a.CreateLabel();
            a.mov(rsp, H.HighHalf + H.StackTop);
            a.push(H.Code64);
            a.lea(rax, __[target]);
            a.mov(rcx, H.HighHalf);
            a.add(rax, rcx);
            a.push(rax);
            a.db(0x48, 0xCB); // RETFQ
            a.Label(ref target);
            a.mov(rbx, rsp);
            a.hlt();
        });
        m.Cpu.Run(10_000);
        Assert.Equal(-1, m.Cpu.LastExceptionVector);
        Assert.Equal(H.HighHalf + H.StackTop, m.Reg(GeneralRegister.Rbx));
        Assert.True(m.Cpu.Rip > H.HighHalf, $"RIP {m.Cpu.Rip:X} should stay in the high half");
    }

    [Fact]
    public void Retf_with_an_immediate_to_cpl3_pops_rsp_and_ss_after_releasing_the_parameters()
    {
        var m = new H();
        m.Load(a =>
        {
            var user = a.CreateLabel();
            a.mov(rsp, 0x7F000);
            a.push(H.DataUser | 3);
            a.push(0x7E000);
            a.push(0x1111); // a parameter the immediate releases
            a.push(H.Code64User | 3);
            a.lea(rax, __[user]);
            a.push(rax);
            a.db(0x48, 0xCA, 0x08, 0x00); // RETFQ 8
            a.Label(ref user);
            a.mov(rbx, rsp);
            a.@int(0x43);
            a.hlt();
        });
        m.SetGate(0x43, H.HandlerAddress(0x43), dpl: 3);
        m.Cpu.Run(10_000);
        Assert.Equal(H.HaltedIn(0x43), m.Cpu.Rip);
        Assert.Equal(0x7E008UL, m.Reg(GeneralRegister.Rbx));
        ulong stack = m.Reg(GeneralRegister.Rsp);
        Assert.Equal((ulong)(H.Code64User | 3), m.Qword(stack + 8));
        Assert.Equal((ulong)(H.DataUser | 3), m.Qword(stack + 32));
    }

    [Fact]
    public void Retfq_to_a_non_canonical_offset_is_gp_zero()
    {
        var m = new H();
        m.Load(a =>
        {
            a.mov(rsp, 0x7F000);
            a.push(H.Code64);
            a.mov(rax, 0x0000_8000_0000_0000UL);
            a.push(rax);
            a.db(0x48, 0xCB); // RETFQ
            a.hlt();
        });
        m.Cpu.Run(10_000);
        Assert.Equal(13, m.Cpu.LastExceptionVector);
        Assert.Equal(H.HaltedIn(13), m.Cpu.Rip);
        Assert.Equal(0UL, m.Qword(m.Reg(GeneralRegister.Rsp)));
    }
}
