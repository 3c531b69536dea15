using Xunit;
using static Iced.Intel.AssemblerRegisters;

namespace Virt.Cpu.Tests.ProtectedMode;

/// <summary>MOV to and from the debug registers (Intel SDM Vol. 3B, 17.2).</summary>
public sealed class DebugRegisterTests
{
    [Fact]
    public void Debug_registers_keep_their_values_and_fixed_bits()
    {
        var m = new CpuHarness();
        m.Run(a =>
        {
            a.mov(eax, 0x12345678);
            a.mov(dr0, eax);
            a.mov(eax, unchecked((int)0xFFFF_DFFF)); // all but GD, which would make the next MOV DR fault
            a.mov(dr7, eax);
            a.xor(eax, eax);
            a.mov(dr6, eax);
            a.mov(ebx, dr7);
            a.mov(ecx, dr4); // DR4 aliases DR6 while CR4.DE is clear
            a.mov(edx, dr0);
            a.hlt();
        });
        Assert.Equal(-1, m.Cpu.LastExceptionVector);
        Assert.Equal(0xFFFF_07FFUL, m.Reg(GeneralRegister.Rbx)); // bits 11, 12, 14, 15 read as 0; bit 10 as 1
        Assert.Equal(0xFFFF_0FF0UL, m.Reg(GeneralRegister.Rcx));
        Assert.Equal(0x12345678UL, m.Reg(GeneralRegister.Rdx));
        Assert.Equal(0xFFFF_07FFu, m.Cpu.GetDebugRegister(7));
    }
}
