using Xunit;
using static Iced.Intel.AssemblerRegisters;

namespace Virt.Cpu.Tests;

/// <summary>CR4 bits the CPU reports through CPUID must be settable (Intel SDM Vol. 3A, 2.5).</summary>
public sealed class ControlRegisterTests
{
    [Fact]
    public void Cr4OsfxsrIsSettableBecauseCpuidReportsFxsr()
    {
        var h = new CpuHarness();
        h.Load(a =>
        {
            a.mov(eax, 1);
            a.cpuid();
            a.mov(esi, edx);           // feature flags
            a.mov(eax, 1 << 9);        // CR4.OSFXSR
            a.mov(cr4, eax);
            a.mov(ebx, cr4);
            a.hlt();
        });
        h.Cpu.Run(100);
        Assert.Equal(1u << 24, (uint)h.Cpu.GetRegister(GeneralRegister.Rsi) & (1u << 24)); // FXSR reported
        Assert.Equal(1u << 9, (uint)h.Cpu.GetRegister(GeneralRegister.Rbx));
    }
}
