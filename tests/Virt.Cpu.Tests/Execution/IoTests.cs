using Virt.Memory;
using Xunit;
using static Iced.Intel.AssemblerRegisters;

namespace Virt.Cpu.Tests.Execution;

/// <summary>The I/O family (IN, OUT and their string forms) through the port space.</summary>
public sealed class IoTests
{
    private readonly CpuHarness _machine = new();

    [Fact]
    public void Port_io_goes_through_the_port_space()
    {
        _machine.Run(a =>
        {
            a.mov(dx, 0x1234);
            a.@in(al, dx);
            a.mov(bl, al);
            a.@in(ax, 0x60);
            a.hlt();
        });

        // Unmapped ports read as all ones.
        Assert.Equal(0xFFUL, _machine.Reg(GeneralRegister.Rbx) & 0xFF);
        Assert.Equal(0xFFFFUL, _machine.Reg(GeneralRegister.Rax) & 0xFFFF);
    }
}
