using Virt.Memory;
using Xunit;
using static Iced.Intel.AssemblerRegisters;

namespace Virt.Cpu.Tests.Execution;

/// <summary>The control-flow family (near and far CALL/RET/JMP, LOOP, JCXZ, Jcc).</summary>
public sealed class ControlFlowTests
{
    private readonly CpuHarness _machine = new();

    [Fact]
    public void Control_flow_calls_loops_and_far_transfers()
    {
        // A far function at 0070:0000 (linear 700h): add ax, 100; retf.
        _machine.Memory.Write(new PhysicalAddress(0x700), new byte[] { 0x05, 0x64, 0x00, 0xCB });
        _machine.Run(a =>
        {
            Iced.Intel.Label function = a.CreateLabel();
            Iced.Intel.Label loop = a.CreateLabel();
            Iced.Intel.Label far = a.CreateLabel();
            a.xor(ax, ax);
            a.mov(cx, 5);
            a.Label(ref loop);
            a.call(function);
            a.loop(loop);
            a.jcxz(far);
            a.hlt();
            a.Label(ref far);
            a.call(0x0070, 0x0000);
            a.hlt();
            a.Label(ref function);
            a.add(ax, 3);
            a.ret();
        });

        // Five near calls add 3 each, the far call adds 100 and returns.
        Assert.Equal(115UL, _machine.Reg(GeneralRegister.Rax) & 0xFFFF);
        Assert.Equal(0x8000UL, _machine.Reg(GeneralRegister.Rsp) & 0xFFFF);
    }
}
