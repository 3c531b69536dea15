using Virt.Memory;
using Xunit;
using static Iced.Intel.AssemblerRegisters;

namespace Virt.Cpu.Tests.Execution;

/// <summary>The string family (MOVS, STOS, SCAS, CMPS, LODS, INS/OUTS) with REP/REPE/REPNE in both directions.</summary>
public sealed class StringsTests
{
    private readonly CpuHarness _machine = new();

    [Fact]
    public void Strings_in_both_directions_with_rep_and_repne()
    {
        _machine.Memory.Write(new PhysicalAddress(0x2000), "hello world\0"u8);
        _machine.Run(a =>
        {
            a.xor(ax, ax);
            a.mov(ds, ax);
            a.mov(es, ax);
            a.mov(si, 0x2000);
            a.mov(di, 0x3000);
            a.mov(cx, 12);
            a.cld();
            a.rep.movsb();
            a.mov(di, 0x3000);
            a.mov(cx, 0xFFFF);
            a.xor(al, al);
            a.repne.scasb();
            a.mov(bx, cx);
            a.std();
            a.mov(di, 0x4003);
            a.mov(cx, 4);
            a.mov(al, 0x5A);
            a.rep.stosb();
            a.cld();
            a.hlt();
        });
        Assert.Equal((byte)'w', _machine.Memory.ReadByte(new PhysicalAddress(0x3006)));

        // REPNE SCASB stops after the NUL at index 11: 12 iterations, CX = FFFF - 12.
        Assert.Equal(0xFFFFUL - 12, _machine.Reg(GeneralRegister.Rbx) & 0xFFFF);
        Assert.Equal(0x5A5A5A5Au, _machine.Memory.ReadDoubleWord(new PhysicalAddress(0x4000)));
    }

    [Fact]
    public void Rep_movs_resumes_after_the_budget_runs_out_mid_way()
    {
        _machine.Load(a =>
        {
            a.xor(ax, ax);
            a.mov(ds, ax);
            a.mov(es, ax);
            a.mov(si, 0x2000);
            a.mov(di, 0x3000);
            a.mov(cx, 100);
            a.cld();
            a.rep.movsb();
            a.hlt();
        });
        for (int i = 0; i < 100; i++)
        {
            _machine.Memory.WriteByte(new PhysicalAddress(0x2000 + (ulong)i), (byte)i);
        }

        // 7 setup instructions, then 10 iterations: stops inside the REP with CX = 90.
        Assert.Equal(StopReason.BudgetExhausted, _machine.Cpu.Run(17));
        Assert.Equal(90UL, _machine.Reg(GeneralRegister.Rcx) & 0xFFFF);
        Assert.Equal(StopReason.Halted, _machine.Cpu.Run(1000));
        Assert.Equal(0UL, _machine.Reg(GeneralRegister.Rcx) & 0xFFFF);
        Assert.Equal(99, _machine.Memory.ReadByte(new PhysicalAddress(0x3063)));
        Assert.Equal(7 + 100 + 1, _machine.Cpu.RetiredInstructions);
    }
}
