using FsCheck.Xunit;
using Virt.Memory;
using Xunit;
using static Iced.Intel.AssemblerRegisters;

namespace Virt.Cpu.Tests;

/// <summary>Host breakpoints and the side-effect-free translation of Cpu.HostBreakpoints.cs.</summary>
public sealed class HostBreakpointTests
{
    [Fact]
    public void RunStopsBeforeTheInstructionThenPassesItOnTheNextRun()
    {
        var h = new CpuHarness();
        h.Load(a =>
        {
            Iced.Intel.Label loop = a.CreateLabel();
            a.mov(cx, 5);
            a.xor(bx, bx);
            a.Label(ref loop);
            a.inc(bx);            // CodeOffset + 5: the breakpoint (MOV CX,imm16 is 3 bytes, XOR BX,BX 2)
            a.dec(cx);
            a.jnz(loop);
            a.hlt();
        });
        const uint breakpoint = CpuHarness.CodeOffset + 5;
        Assert.True(h.Cpu.AddHostBreakpoint(breakpoint));
        Assert.False(h.Cpu.AddHostBreakpoint(breakpoint));
        for (int hit = 0; hit < 5; hit++)
        {
            Assert.Equal(StopReason.Breakpoint, h.Cpu.Run(1000));
            Assert.Equal(breakpoint, h.Cpu.Eip);
            Assert.Equal((ulong)hit, h.Reg(GeneralRegister.Rbx)); // INC BX has not run yet
        }

        Assert.Equal(StopReason.Halted, h.Cpu.Run(1000));
        Assert.Equal(5UL, h.Reg(GeneralRegister.Rbx));
        Assert.Equal(0u, h.Cpu.GetDebugRegister(6) & 0xF); // the guest saw nothing: no DR6 hit bits
    }

    [Fact]
    public void RemovingTheLastBreakpointRunsFreely()
    {
        var h = new CpuHarness();
        h.Load(a =>
        {
            a.inc(bx);
            a.inc(bx);
            a.hlt();
        });
        h.Cpu.AddHostBreakpoint(CpuHarness.CodeOffset + 2);
        Assert.Equal(StopReason.Breakpoint, h.Cpu.Run(1000));
        Assert.True(h.Cpu.RemoveHostBreakpoint(CpuHarness.CodeOffset + 2));
        Assert.False(h.Cpu.RemoveHostBreakpoint(CpuHarness.CodeOffset + 2));
        Assert.Empty(h.Cpu.HostBreakpoints);
        Assert.Equal(StopReason.Halted, h.Cpu.Run(1000));
        Assert.Equal(2UL, h.Reg(GeneralRegister.Rbx));
    }

    [Fact]
    public void TranslationWithoutPagingIsIdentityAndNothingAbove4GiB()
    {
        var h = new CpuHarness();
        Assert.True(h.Cpu.TryTranslateLinear(0x1234, out PhysicalAddress physical));
        Assert.Equal(0x1234UL, physical.Value);
        Assert.False(h.Cpu.TryTranslateLinear(0x1_0000_0000, out _));
    }

    /// <summary>
    /// Random PDE/PTE flags under 32-bit paging: TryTranslateLinear agrees with a supervisor read walk wherever the page is
    /// present (rights do not matter to a debugger), fails where it is not, and never sets accessed or dirty bits.
    /// </summary>
    [Property(MaxTest = 200)]
    public void TranslationMatchesTheWalkAndLeavesEntriesAlone(byte pdeFlags, byte pteFlags, bool pse, uint linear)
    {
        const uint pageDirectory = 0x10000;
        const uint pageTable = 0x11000;
        var machine = new CpuHarness();
        (PhysicalMemoryMap memory, Cpu cpu) = (machine.Memory, machine.Cpu);
        uint pde = (pdeFlags & 0xC7u) | (pse && (pdeFlags & 0x80) != 0 ? 0u : pageTable); // A (0x20) and D (0x40) clear
        uint pte = (pteFlags & 0x07u) | 0x5_0000;
        var pteAddress = new PhysicalAddress(pageTable + (((linear >> 12) & 0x3FF) * 4));
        var pdeAddress = new PhysicalAddress(pageDirectory + ((linear >> 22) * 4));
        memory.WriteDoubleWord(pdeAddress, pde);
        memory.WriteDoubleWord(pteAddress, pte);
        cpu.Cr3 = pageDirectory;
        cpu.Cr4 = pse ? 1u << 4 : 0;
        cpu.Cr0 = 0x8000_0011;

        bool translated = cpu.TryTranslateLinear(linear, out PhysicalAddress physical);
        Assert.Equal(pde, memory.ReadDoubleWord(pdeAddress));
        Assert.Equal(pte, memory.ReadDoubleWord(pteAddress));

        bool large = pse && (pde & 0x80) != 0;
        bool present = (pde & 1) != 0 && (large || (pte & 1) != 0);
        Assert.Equal(present, translated);
        if (present)
        {
            Assert.Equal(-1, cpu.TranslateForTest(linear, write: false, user: false, out ulong walked));
            Assert.Equal(walked, physical.Value);
        }
    }
}
