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

    [Fact]
    public void Overlapping_rep_movsb_forwards_repeats_the_first_byte_across_pages()
    {
        // DI = SI + 1: each iteration reads the byte the previous one wrote (Intel SDM Vol. 2B, MOVS: one element at a time),
        // so the first byte fills the whole destination; a block copy of the original bytes would shift the pattern instead.
        for (int i = 0; i < 0x3001; i++)
        {
            _machine.Memory.WriteByte(new PhysicalAddress(0x10000 + (ulong)i), (byte)((i * 7) + 3));
        }

        _machine.Run(a =>
        {
            a.mov(ax, 0x1000);
            a.mov(ds, ax);
            a.mov(es, ax);
            a.xor(si, si);
            a.mov(di, 1);
            a.mov(cx, 0x3000);
            a.cld();
            a.rep.movsb();
            a.hlt();
        });

        for (int i = 0; i < 0x3001; i += 0x7F)
        {
            Assert.Equal(3, _machine.Memory.ReadByte(new PhysicalAddress(0x10000 + (ulong)i)));
        }

        Assert.Equal(0x3000UL, _machine.Reg(GeneralRegister.Rsi) & 0xFFFF);
        Assert.Equal(0x3001UL, _machine.Reg(GeneralRegister.Rdi) & 0xFFFF);
        Assert.Equal(0UL, _machine.Reg(GeneralRegister.Rcx) & 0xFFFF);
    }

    [Fact]
    public void Rep_stosb_with_16_bit_addresses_wraps_di_within_the_segment()
    {
        _machine.Run(a =>
        {
            a.mov(ax, 0x2000);
            a.mov(es, ax);
            a.mov(di, 0xFFF0);
            a.mov(cx, 0x20);
            a.mov(al, 0xA5);
            a.cld();
            a.rep.stosb();
            a.hlt();
        });

        // 16 bytes at 2000:FFF0-FFFF, then DI wraps to 0 and 16 more at 2000:0000 (not at 30000h).
        Assert.Equal(0xA5A5A5A5u, _machine.Memory.ReadDoubleWord(new PhysicalAddress(0x2FFFC)));
        Assert.Equal(0xA5A5A5A5u, _machine.Memory.ReadDoubleWord(new PhysicalAddress(0x2000C)));
        Assert.Equal(0u, _machine.Memory.ReadDoubleWord(new PhysicalAddress(0x30000)));
        Assert.Equal(0x10UL, _machine.Reg(GeneralRegister.Rdi) & 0xFFFF);
        Assert.Equal(0UL, _machine.Reg(GeneralRegister.Rcx) & 0xFFFF);
    }

    [Fact]
    public void Rep_movsw_faulting_at_the_segment_end_leaves_the_registers_at_that_iteration()
    {
        // A word at ES:FFFF crosses the real-mode limit: #GP (Intel SDM Vol. 3A, 20.1.3) on the 8th iteration, after seven
        // words were copied; CX, SI and DI describe the remaining work and the handler sees the instruction's address.
        for (int i = 0; i < 32; i++)
        {
            _machine.Memory.WriteByte(new PhysicalAddress(0x20000 + (ulong)i), (byte)(0x40 + i));
        }

        _machine.InstallHaltHandler(13);
        _machine.Run(a =>
        {
            a.mov(ax, 0x2000);
            a.mov(ds, ax);
            a.mov(ax, 0x3000);
            a.mov(es, ax);
            a.xor(si, si);
            a.mov(di, 0xFFF1);
            a.mov(cx, 0x10);
            a.cld();
            a.rep.movsw();
            a.hlt();
        });

        Assert.Equal(CpuHarness.HaltHandlerReturn(13), _machine.Cpu.Eip);
        Assert.Equal(9UL, _machine.Reg(GeneralRegister.Rcx) & 0xFFFF);
        Assert.Equal(14UL, _machine.Reg(GeneralRegister.Rsi) & 0xFFFF);
        Assert.Equal(0xFFFFUL, _machine.Reg(GeneralRegister.Rdi) & 0xFFFF);
        Assert.Equal(0x4D4C, _machine.Word(0x3FFFD));
        Assert.Equal(0, _machine.Memory.ReadByte(new PhysicalAddress(0x3FFFF)));
    }
}
