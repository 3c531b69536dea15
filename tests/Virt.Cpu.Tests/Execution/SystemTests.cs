using Virt.Memory;
using Xunit;
using static Iced.Intel.AssemblerRegisters;

namespace Virt.Cpu.Tests.Execution;

/// <summary>The system family reachable from real mode (CPUID, and the far-transfer and fault paths the interrupt tests do not cover).</summary>
public sealed class SystemTests
{
    private readonly CpuHarness _machine = new();

    [Fact]
    public void Cpuid_reports_the_vendor_and_only_implemented_features()
    {
        var m = new CpuHarness(new CpuOptions { VendorString = "VirtVirtVirt" });
        m.Run(a =>
        {
            a.xor(eax, eax);
            a.cpuid();
            a.mov(esi, ebx);
            a.mov(eax, 1);
            a.cpuid();
            a.hlt();
        });
        Assert.Equal(0x74726956UL, m.Reg(GeneralRegister.Rsi)); // "Virt"
        ulong edx = m.Reg(GeneralRegister.Rdx);
        Assert.Equal(1UL, edx & 1); // FPU (x87)
        Assert.Equal(1UL << 4, edx & (1 << 4)); // TSC
        Assert.Equal(1UL << 15, edx & (1 << 15)); // CMOV
    }
}
