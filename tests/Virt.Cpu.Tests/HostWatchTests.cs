using Iced.Intel;
using Virt.Memory;
using Xunit;
using static Iced.Intel.AssemblerRegisters;
using H = Virt.Cpu.Tests.ProtectedMode.ProtectedModeHarness;

namespace Virt.Cpu.Tests;

/// <summary>Host memory watches (Cpu.HostWatches.cs): reported after the instruction, invisible to the guest.</summary>
public sealed class HostWatchTests
{
    private const uint Buffer = 0x6000;
    private const uint Watched = Buffer + 8;
    private const byte Fill = 0xAB;
    private const int Length = 16;
    private const uint Dr6HitBits = 0xF;

    private static void RepStos(Assembler a)
    {
        a.mov(edi, Buffer);
        a.mov(al, Fill);
        a.mov(ecx, Length);
        a.rep.stosb();
        a.mov(edx, __dword_ptr[Watched]);
        a.hlt();
    }

    [Fact]
    public void RepStringIterationIsReportedOnceWithItsValueAndNoGuestTrap()
    {
        var m = new H();
        m.Load(RepStos);
        var hits = new List<HostWatchAccess>();
        int id = m.Cpu.AddHostWatch(Watched, 1, reads: false, writes: true);
        m.Cpu.HostWatchHandler = hit =>
        {
            hits.Add(hit);
            return false;
        };

        Assert.Equal(StopReason.Halted, m.Cpu.Run(1000));
        Assert.Equal([new HostWatchAccess(id, Watched, 1, true, Fill)], hits); // the dword read is not a write
        Assert.Equal(0u, m.Cpu.GetDebugRegister(6) & Dr6HitBits);
        Assert.Equal(0UL, m.Reg(GeneralRegister.Rcx));
        Assert.Equal(0xABABABABu, m.Dword(Buffer + 12));
    }

    [Fact]
    public void StoppingMidRepLeavesTheInstructionToResume()
    {
        var m = new H();
        m.Load(RepStos);
        m.Cpu.AddHostWatch(Watched, 1, reads: false, writes: true);
        m.Cpu.HostWatchHandler = _ => true;

        Assert.Equal(StopReason.Watchpoint, m.Cpu.Run(1000));
        Assert.Equal((ulong)(Length - 9), m.Reg(GeneralRegister.Rcx)); // after the iteration that wrote Watched
        Assert.Equal(0u, m.Cpu.Flags & (uint)CpuFlags.Resume); // no RF: the guest took no trap
        Assert.Equal(0u, m.Dword(Buffer + 12));

        Assert.Equal(StopReason.Halted, m.Cpu.Run(1000));
        Assert.Equal(0UL, m.Reg(GeneralRegister.Rcx));
        Assert.Equal(0xABABABABu, m.Dword(Buffer + 12));
    }

    [Fact]
    public void ReadsAreReportedWithTheValueRead()
    {
        var m = new H();
        m.Load(RepStos);
        var hits = new List<HostWatchAccess>();
        int id = m.Cpu.AddHostWatch(Watched + 3, 1, reads: true, writes: false);
        m.Cpu.HostWatchHandler = hit =>
        {
            hits.Add(hit);
            return false;
        };

        m.Cpu.Run(1000);
        Assert.Equal([new HostWatchAccess(id, Watched, 4, false, 0xABABABAB)], hits);
    }

    [Fact]
    public void PageCrossingAccessIsReportedOnceWhole()
    {
        var m = new H();
        m.Load(a =>
        {
            a.mov(eax, 0x11223344);
            a.mov(__dword_ptr[Buffer - 2], eax);
            a.hlt();
        });
        var hits = new List<HostWatchAccess>();
        int id = m.Cpu.AddHostWatch(Buffer, 1, reads: true, writes: true);
        m.Cpu.HostWatchHandler = hit =>
        {
            hits.Add(hit);
            return false;
        };

        m.Cpu.Run(1000);
        Assert.Equal([new HostWatchAccess(id, Buffer - 2, 4, true, 0x11223344)], hits);
    }

    [Fact]
    public void WatchedRunRetiresTheSameInstructionsAndLeavesTheSameMemory()
    {
        var plain = new H();
        plain.Load(RepStos);
        plain.Cpu.Run(1000);

        var watched = new H();
        watched.Load(RepStos);
        int calls = 0;
        watched.Cpu.AddHostWatch(Buffer, Length, reads: true, writes: true);
        watched.Cpu.HostWatchHandler = _ =>
        {
            calls++;
            return false;
        };
        watched.Cpu.Run(1000);

        Assert.Equal(Length + 1, calls);
        Assert.Equal(plain.Cpu.RetiredInstructions, watched.Cpu.RetiredInstructions);
        Assert.Equal(plain.Cpu.Eip, watched.Cpu.Eip);
        byte[] a = new byte[0x10000];
        byte[] b = new byte[0x10000];
        plain.Memory.Read(new PhysicalAddress(0), a);
        watched.Memory.Read(new PhysicalAddress(0), b);
        Assert.Equal(a, b);
    }

    [Fact]
    public void RemovedWatchIsNotReportedAndBadRangesThrow()
    {
        var m = new H();
        m.Load(RepStos);
        int calls = 0;
        int id = m.Cpu.AddHostWatch(Watched, 1, reads: true, writes: true);
        m.Cpu.HostWatchHandler = _ =>
        {
            calls++;
            return false;
        };
        Assert.True(m.Cpu.RemoveHostWatch(id));
        Assert.False(m.Cpu.RemoveHostWatch(id));

        m.Cpu.Run(1000);
        Assert.Equal(0, calls);
        Assert.Throws<ArgumentOutOfRangeException>(() => m.Cpu.AddHostWatch(0x1_0000_0000, 1, reads: true, writes: true));
        Assert.Throws<ArgumentOutOfRangeException>(() => m.Cpu.AddHostWatch(Watched, 0, reads: true, writes: true));
        Assert.Throws<ArgumentException>(() => m.Cpu.AddHostWatch(Watched, 1, reads: false, writes: false));
    }
}
