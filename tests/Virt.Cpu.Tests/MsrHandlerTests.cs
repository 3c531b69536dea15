using Xunit;
using static Iced.Intel.AssemblerRegisters;

namespace Virt.Cpu.Tests;

/// <summary>MSRs outside the core (<see cref="CpuOptions.MsrHandler"/>): RDMSR and WRMSR reach them, and #GP(0) stays for the rest.</summary>
public sealed class MsrHandlerTests
{
    private const uint ApicBase = 0x1B;
    private const uint Unknown = 0x1234;
    private const uint SysenterEsp = 0x175;

    [Fact]
    public void Rdmsr_and_wrmsr_reach_the_handler_for_msrs_the_cpu_does_not_implement()
    {
        var handler = new TableHandler();
        var m = new CpuHarness(new CpuOptions { MsrHandler = handler });
        m.Run(a =>
        {
            a.mov(ecx, ApicBase);
            a.mov(eax, 0xFEE0_0800);
            a.mov(edx, 1);
            a.wrmsr();
            a.xor(eax, eax);
            a.xor(edx, edx);
            a.rdmsr();
            a.hlt();
        });

        Assert.Equal(0x1_FEE0_0800UL, handler.Values[ApicBase]);
        Assert.Equal(0xFEE0_0800UL, m.Reg(GeneralRegister.Rax));
        Assert.Equal(1UL, m.Reg(GeneralRegister.Rdx));
    }

    [Fact]
    public void An_msr_the_handler_refuses_raises_general_protection()
    {
        var m = new CpuHarness(new CpuOptions { MsrHandler = new TableHandler() });
        m.InstallHaltHandler(13);
        m.Run(a =>
        {
            a.mov(ecx, Unknown);
            a.rdmsr();
            a.hlt();
        });

        Assert.Equal(13, m.Cpu.LastExceptionVector);
    }

    [Fact]
    public void The_cpus_own_msrs_never_reach_the_handler()
    {
        var handler = new TableHandler();
        var m = new CpuHarness(new CpuOptions { MsrHandler = handler });
        Assert.True(m.Cpu.TryWriteMsr(SysenterEsp, 0x8000));
        Assert.True(m.Cpu.TryReadMsr(SysenterEsp, out ulong value));
        Assert.Equal(0x8000UL, value);
        Assert.Empty(handler.Values);
        Assert.Equal(0, handler.Calls);
    }

    /// <summary>Implements MSR 1Bh only, remembering what was written.</summary>
    private sealed class TableHandler : IMsrHandler
    {
        public Dictionary<uint, ulong> Values { get; } = [];

        public int Calls { get; private set; }

        public bool TryRead(uint index, out ulong value)
        {
            Calls++;
            if (Values.TryGetValue(index, out value))
            {
                return true;
            }

            value = 0;
            return index == ApicBase;
        }

        public bool TryWrite(uint index, ulong value)
        {
            Calls++;
            if (index != ApicBase)
            {
                return false;
            }

            Values[index] = value;
            return true;
        }
    }
}
