using Virt.Memory;
using Xunit;
using static Iced.Intel.AssemblerRegisters;
using H = Virt.Cpu.Tests.ProtectedMode.ProtectedModeHarness;

namespace Virt.Cpu.Tests.Hooks;

/// <summary>The CPU's run-loop hooks (Hooks/Cpu.HostHooks.cs): exception hooks on a page fault, instruction-count hooks.</summary>
public sealed class CpuHostHooksTests
{
    private const uint PageDirectory = 0x60000;
    private const uint LowTable = 0x61000; // linear 0-4 MiB: identity for the 1 MiB of RAM
    private const uint HighTable = 0x62000; // linear 4-8 MiB: nothing present
    private const uint PresentWritable = 3;

    [Fact]
    public void ExceptionHookSeesAPageFaultWithCr2AndCanMapThePageAndRetry()
    {
        H m = CreatePaged();
        m.InstallGate(14);
        var seen = new List<CpuExceptionEvent>();
        m.Cpu.ExceptionHook = (ref CpuExceptionEvent e) =>
        {
            seen.Add(e);
            if (e.Vector == 14)
            {
                // Demand paging by the host: map the page, then let the store run again.
                m.Memory.WriteDoubleWord(new PhysicalAddress(HighTable + (((0x402344u >> 12) & 0x3FF) * 4)), 0x50000 | PresentWritable);
                e.Suppress();
            }
        };

        m.Run(a =>
        {
            EnablePaging(a);
            a.mov(eax, 0x12345678);
            a.mov(__dword_ptr[0x402344], eax);
            a.hlt();
        });

        CpuExceptionEvent fault = Assert.Single(seen);
        Assert.Equal(14, fault.Vector);
        Assert.Equal(2, fault.ErrorCode);                   // a write to a not-present page
        Assert.Equal(0x402344UL, fault.Cr2);
        Assert.InRange(fault.NextRip - fault.Rip, 5UL, 6UL); // mov [disp32], eax: A3 moffs32 (5 bytes) or 89 05 disp32 (6)
        Assert.Equal(-1, m.Cpu.LastExceptionVector);        // nothing was delivered
        Assert.Equal((ulong)H.StackTop, m.Reg(GeneralRegister.Rsp));  // nothing was pushed
        Assert.Equal(0x12345678u, m.Memory.ReadDoubleWord(new PhysicalAddress(0x50344)));
    }

    [Fact]
    public void InstructionCountHookRunsAtItsDeadlineAndCanStopTheCpu()
    {
        H m = CreatePaged();
        var retired = new List<long>();
        m.Cpu.InstructionCountDeadline = 7;
        m.Cpu.InstructionCountHook = () =>
        {
            retired.Add(m.Cpu.RetiredInstructions);
            if (retired.Count == 2)
            {
                m.Cpu.RequestStop();
            }
            else
            {
                m.Cpu.InstructionCountDeadline += 7;
            }
        };

        StopReason stop = m.Run(a =>
        {
            for (int i = 0; i < 40; i++)
            {
                a.inc(eax);
            }

            a.hlt();
        });

        Assert.Equal(StopReason.StopRequested, stop);
        Assert.Equal([7L, 14L], retired);
        Assert.Equal(14, m.Cpu.RetiredInstructions);
        Assert.Equal(long.MaxValue, m.Cpu.InstructionCountDeadline);   // not moved on by the last call
    }

    private static H CreatePaged()
    {
        var m = new H();
        m.Memory.WriteDoubleWord(new PhysicalAddress(PageDirectory), LowTable | PresentWritable);
        m.Memory.WriteDoubleWord(new PhysicalAddress(PageDirectory + 4), HighTable | PresentWritable);
        for (uint page = 0; page < 256; page++)
        {
            m.Memory.WriteDoubleWord(new PhysicalAddress(LowTable + (page * 4)), (page << 12) | PresentWritable);
        }

        return m;
    }

    private static void EnablePaging(Iced.Intel.Assembler a)
    {
        a.mov(eax, PageDirectory);
        a.mov(cr3, eax);
        a.mov(eax, cr0);
        a.or(eax, unchecked((int)0x8000_0000));
        a.mov(cr0, eax);
    }
}
