using Virt.Memory;
using Xunit;
using static Iced.Intel.AssemblerRegisters;
using H = Virt.Cpu.Tests.ProtectedMode.ProtectedModeHarness;

namespace Virt.Cpu.Tests.ProtectedMode;

/// <summary>
/// A fault raised while delivering INT n is a first exception, not a double fault, whatever n is: INT n and external
/// interrupts are benign events (Intel SDM Vol. 3A, 6.15, Table 6-4), so Table 6-5 never turns their faults into #DF.
/// Found by the QEMU differential suite (INT 0Dh from ring 3 through a DPL-0 gate).
/// </summary>
public sealed class SoftwareInterruptFaultTests
{
    private const uint Ring3Code = 0x12000;
    private const uint Ring3Stack = 0x7F000;

    private static H EnterRing3(int vector)
    {
        var m = new H();
        m.Memory.Write(new PhysicalAddress(Ring3Code), H.Assemble(32, a => a.@int((byte)vector), Ring3Code));
        m.Load(a =>
        {
            a.mov(ax, H.Tss32);
            a.ltr(ax);
            a.push(H.Dpl3Data | 3);
            a.push(Ring3Stack);
            a.push(0x2);
            a.push(H.Code3 | 3);
            a.push(Ring3Code);
            a.iretd();
        });
        m.InstallGate(8);
        m.InstallGate(13);
        return m;
    }

    [Theory]
    [InlineData(0x0D)]
    [InlineData(0x0B)]
    [InlineData(0x08)]
    [InlineData(0x00)]
    public void Int_n_through_a_dpl_0_gate_from_ring_3_is_gp_with_the_gate_error_code(int vector)
    {
        var m = EnterRing3(vector);
        if (vector != 13 && vector != 8)
        {
            m.InstallGate(vector);
        }

        m.Cpu.Run(100);
        Assert.Equal(13, m.Cpu.LastExceptionVector);
        Assert.Equal(H.HandlerAddress(13) + 1, m.Cpu.Eip);
        uint esp = (uint)m.Reg(GeneralRegister.Rsp);
        Assert.Equal((uint)(vector * 8) + 2, m.Dword(esp)); // error code: IDT bit + vector index (SDM 6.13)
        Assert.Equal(Ring3Code, m.Dword(esp + 4));        // the saved EIP points at the INT instruction
    }

    [Fact]
    public void A_fault_raised_by_int_n_pushes_rf_1()
    {
        // The #GP is a fault of the INT instruction: "for any fault-class exception except a debug exception generated in
        // response to an instruction breakpoint, the value pushed for RF is 1" (Intel SDM Vol. 3B, 17.3.1.1).
        var m = EnterRing3(0x0D);
        m.Cpu.Run(100);
        Assert.Equal(13, m.Cpu.LastExceptionVector);
        uint esp = (uint)m.Reg(GeneralRegister.Rsp);
        Assert.Equal(1u << 16, m.Dword(esp + 12) & (1u << 16));
    }
}
