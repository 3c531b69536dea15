using Virt.Memory;
using Xunit;
using static Iced.Intel.AssemblerRegisters;

namespace Virt.Cpu.Tests;

/// <summary>The CPU's host hooks on RDMSR, WRMSR, RDTSC, CPUID and its replaceable port space (Cpu.Hooks.cs).</summary>
public sealed class CpuHooksTests
{
    private const uint SysenterEsp = 0x175; // an MSR the CPU implements (Intel SDM Vol. 4, table 2-2)

    [Fact]
    public void MsrReadHookReturningFalseRaisesGeneralProtection()
    {
        var m = new CpuHarness();
        m.InstallHaltHandler(13);
        m.Cpu.MsrReadHook = (uint index, bool implemented, ref ulong value) => false;
        m.Run(a =>
        {
            a.mov(ecx, SysenterEsp);
            a.rdmsr();
            a.hlt();
        });

        Assert.Equal(13, m.Cpu.LastExceptionVector);
        Assert.Equal(CpuHarness.HaltHandlerReturn(13), m.Cpu.Eip);
    }

    [Fact]
    public void MsrReadHookSeesTheImplementedValue()
    {
        var m = new CpuHarness();
        (uint Index, bool Implemented, ulong Value)? seen = null;
        m.Cpu.MsrReadHook = (uint index, bool implemented, ref ulong value) =>
        {
            seen = (index, implemented, value);
            return implemented;
        };
        m.Run(a =>
        {
            a.mov(ecx, SysenterEsp);
            a.mov(eax, 0x1234_5678);
            a.xor(edx, edx);
            a.wrmsr();
            a.xor(eax, eax);
            a.rdmsr();
            a.hlt();
        });

        Assert.Equal((SysenterEsp, true, 0x1234_5678UL), seen);
        Assert.Equal(0x1234_5678UL, m.Reg(GeneralRegister.Rax));
    }

    [Fact]
    public void MsrWriteHookCanReplaceTheValue()
    {
        var m = new CpuHarness();
        m.Cpu.MsrWriteHook = (uint index, ref ulong value) =>
        {
            value += 1;
            return true;
        };
        m.Run(a =>
        {
            a.mov(ecx, SysenterEsp);
            a.mov(eax, 0x100);
            a.xor(edx, edx);
            a.wrmsr();
            a.rdmsr();
            a.hlt();
        });

        Assert.Equal(0x101UL, m.Reg(GeneralRegister.Rax));
    }

    [Fact]
    public void CpuidHookSeesTheRequestedLeafBeforeClamping()
    {
        var m = new CpuHarness();
        var leaves = new List<(uint Leaf, uint Subleaf)>();
        m.Cpu.CpuidHook = (uint leaf, uint subleaf, ref uint a, ref uint b, ref uint c, ref uint d) => leaves.Add((leaf, subleaf));
        m.Run(a =>
        {
            a.mov(eax, 0x4000_0000); // above the highest basic leaf: answered as that leaf
            a.mov(ecx, 3);
            a.cpuid();
            a.hlt();
        });

        Assert.Equal([(0x4000_0000u, 3u)], leaves);
    }

    [Fact]
    public void TscHookIsCalledOncePerRdtsc()
    {
        var m = new CpuHarness();
        int calls = 0;
        m.Cpu.TscReadHook = value =>
        {
            calls++;
            return value;
        };
        m.Run(a =>
        {
            a.rdtsc();
            a.hlt();
        });

        Assert.Equal(1, calls);
    }

    [Fact]
    public void ReplacedPortSpaceReceivesTheGuestsAccesses()
    {
        var m = new CpuHarness();
        var other = new IoPortSpace();
        var device = new LatchDevice();
        other.Register("latch", 0x300, 1, device);
        m.Cpu.PortSpace = other;
        m.Run(a =>
        {
            a.mov(dx, 0x300);
            a.mov(al, 0x5A);
            a.@out(dx, al);
            a.hlt();
        });

        Assert.Equal(0x5Au, device.Value);
        Assert.Same(other, m.Cpu.PortSpace);
        Assert.Throws<ArgumentNullException>(() => m.Cpu.PortSpace = null!);
    }

    private sealed class LatchDevice : IPortDevice
    {
        public uint Value { get; private set; }

        public AccessWidths SupportedWidths => AccessWidths.Byte;

        public uint Read(ushort offset, int sizeInBytes) => Value;

        public void Write(ushort offset, int sizeInBytes, uint value) => Value = value;
    }
}
