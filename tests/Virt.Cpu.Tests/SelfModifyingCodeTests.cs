using Iced.Intel;
using Xunit;
using static Iced.Intel.AssemblerRegisters;

namespace Virt.Cpu.Tests;

/// <summary>Self-modifying code behaves as on hardware: a write to decoded code is seen by the next fetch.</summary>
public sealed class SelfModifyingCodeTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_store_that_rewrites_the_next_instruction_takes_effect(bool disableCache)
    {
        var machine = new CpuHarness(new CpuOptions { DisableDecodeCache = disableCache });

        // The store replaces the immediate of the very next instruction ("mov ax, 1111h" becomes "mov ax, 2222h").
        machine.RunWithLabels(
            (a, at) =>
            {
                Label target = a.CreateLabel();
                a.xor(ax, ax);
                a.mov(ds, ax);
                a.mov(__word_ptr[at[0] + 1], 0x2222);
                a.Label(ref target);
                a.mov(ax, 0x1111);
                a.hlt();
                return [target];
            },
            labelCount: 1);
        Assert.Equal(0x2222UL, machine.Reg(GeneralRegister.Rax) & 0xFFFF);
    }

    [Fact]
    public void Code_run_before_is_redecoded_after_it_is_rewritten()
    {
        var machine = new CpuHarness();

        // A loop runs "inc bx" twice through the same cached block, then patches it into "dec bx" and runs it twice more.
        machine.RunWithLabels(
            (a, at) =>
        {
            Label body = a.CreateLabel();
            Label again = a.CreateLabel();
            Label done = a.CreateLabel();
            a.xor(ax, ax);
            a.mov(ds, ax);
            a.xor(bx, bx);
            a.mov(cx, 2);
            a.mov(dx, 2);
            a.Label(ref again);
            a.call(body);
            a.loop(again);
            a.dec(dx);
            a.jz(done);
            a.mov(__byte_ptr[at[0]], 0x4B); // DEC BX
            a.mov(cx, 2);
            a.jmp(again);
            a.Label(ref done);
            a.hlt();
            a.Label(ref body);
            a.inc(bx);
            a.ret();
            return [body];
        },
            labelCount: 1);
        Assert.Equal(0UL, machine.Reg(GeneralRegister.Rbx) & 0xFFFF);
    }

    [Fact]
    public void Rep_movsb_overwriting_code_ahead_of_itself_runs_the_new_code()
    {
        var machine = new CpuHarness();

        // REP MOVSB copies "mov ax, 5678h" over the "mov ax, 1234h" that follows it in the same block.
        machine.RunWithLabels(
            (a, at) =>
        {
            Label source = a.CreateLabel();
            Label target = a.CreateLabel();
            a.xor(ax, ax);
            a.mov(ds, ax);
            a.mov(es, ax);
            a.mov(si, at[0]);
            a.mov(di, at[1]);
            a.mov(cx, 3);
            a.cld();
            a.rep.movsb();
            a.Label(ref target);
            a.mov(ax, 0x1234);
            a.hlt();
            a.Label(ref source);
            a.mov(ax, 0x5678);
            return [source, target];
        },
            labelCount: 2);
        Assert.Equal(0x5678UL, machine.Reg(GeneralRegister.Rax) & 0xFFFF);
    }

    [Fact]
    public void Host_writes_to_code_invalidate_cached_blocks()
    {
        var machine = new CpuHarness();
        machine.Run(a =>
        {
            a.mov(ax, 0x1111);
            a.hlt();
        });
        Assert.Equal(0x1111UL, machine.Reg(GeneralRegister.Rax) & 0xFFFF);
        machine.Run(a =>
        {
            a.mov(ax, 0x2222);
            a.hlt();
        });
        Assert.Equal(0x2222UL, machine.Reg(GeneralRegister.Rax) & 0xFFFF);
    }
}
