using Xunit;
using static Iced.Intel.AssemblerRegisters;

namespace Virt.Cpu.Tests;

/// <summary>MOV to and from DR0-DR7 (Intel SDM Vol. 3B, 18.2): values kept, fixed bits of DR6/DR7 applied, DR4/DR5 alias DR6/DR7.</summary>
public sealed class DebugRegisterTests
{
    [Fact]
    public void DebugRegistersHoldValuesWithFixedBits()
    {
        var h = new CpuHarness();
        h.Load(a =>
        {
            a.mov(eax, 0x1234_5678);
            a.mov(dr0, eax);
            a.mov(ebx, dr0);
            a.xor(eax, eax);
            a.mov(dr6, eax);      // reserved bits read back as 1
            a.mov(ecx, dr6);
            a.mov(dr7, eax);      // bit 10 reads back as 1
            a.mov(edx, dr7);
            a.mov(eax, 0xFFFF_DFFF); // all but GD (bit 13), which would make the next MOV DR fault
            a.mov(dr7, eax);      // bits 11, 12, 14 and 15 read back as 0
            a.mov(esi, dr5);      // DR5 aliases DR7 while CR4.DE is clear
            a.hlt();
        });
        h.Cpu.Run(100);
        Assert.Equal(0x1234_5678u, (uint)h.Cpu.GetRegister(GeneralRegister.Rbx));
        Assert.Equal(0xFFFF_0FF0u, (uint)h.Cpu.GetRegister(GeneralRegister.Rcx));
        Assert.Equal(0x0000_0400u, (uint)h.Cpu.GetRegister(GeneralRegister.Rdx));
        Assert.Equal(0xFFFF_07FFu, (uint)h.Cpu.GetRegister(GeneralRegister.Rsi));
        Assert.Equal(0xFFFF_07FFu, h.Cpu.GetDebugRegister(7));
    }

    [Fact]
    public void ResetStateOfDr6AndDr7()
    {
        var h = new CpuHarness();
        Assert.Equal(0xFFFF_0FF0u, h.Cpu.GetDebugRegister(6));
        Assert.Equal(0x0000_0400u, h.Cpu.GetDebugRegister(7));
        Assert.Equal(0u, h.Cpu.GetDebugRegister(0));
    }
}
