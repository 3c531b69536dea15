using Iced.Intel;
using Xunit;
using static Iced.Intel.AssemblerRegisters;

namespace Virt.Cpu.Tests.Execution;

/// <summary>
/// The SIMD entry (Cpu.Simd.cs): the availability checks every MMX and SSE instruction makes before it runs, in the SDM's
/// order (Intel SDM Vol. 3A, 2.5 and 13.1; Vol. 2, the exception sections of MOVAPS and EMMS).
/// </summary>
public sealed class SimdTests
{
    private const int VectorUd = 6;
    private const int VectorNm = 7;
    private const ulong Cr0Em = 1UL << 2;
    private const ulong Cr0Ts = 1UL << 3;
    private const ulong Cr4Osfxsr = 1UL << 9;

    private readonly CpuHarness _m = new();

    /// <summary>Runs one instruction with the given CR0 bits and CR4 and returns the vector of the fault it raised.</summary>
    private int FaultOf(Action<Assembler> instruction, ulong cr0Bits, ulong cr4)
    {
        _m.Load(a =>
        {
            instruction(a);
            a.hlt();
        });
        _m.InstallHaltHandler(VectorUd);
        _m.InstallHaltHandler(VectorNm);
        _m.Cpu.Cr0 |= cr0Bits;
        _m.Cpu.Cr4 = cr4;
        _m.Cpu.Run(100);
        uint ip = _m.Cpu.Eip;
        return ip == CpuHarness.HaltHandlerReturn(VectorUd) ? VectorUd : ip == CpuHarness.HaltHandlerReturn(VectorNm) ? VectorNm : -1;
    }

    [Theory]
    [InlineData(Cr0Em, Cr4Osfxsr, VectorUd)] // CR0.EM: #UD, not #NM as for x87
    [InlineData(Cr0Em | Cr0Ts, Cr4Osfxsr, VectorUd)] // #UD for EM comes before #NM for TS
    [InlineData(Cr0Ts, 0UL, VectorUd)] // CR4.OSFXSR = 0: #UD before #NM
    [InlineData(Cr0Ts, Cr4Osfxsr, VectorNm)]
    public void Sse_instructions_check_em_then_osfxsr_then_ts(ulong cr0Bits, ulong cr4, int expected)
    {
        Assert.Equal(expected, FaultOf(a => a.movaps(xmm0, xmm1), cr0Bits, cr4));
    }

    [Fact]
    public void Mmx_instructions_do_not_depend_on_osfxsr()
    {
        // EMMS uses the x87/MMX state only: without CR4.OSFXSR it still gets as far as the TS check (Vol. 2A, EMMS).
        Assert.Equal(VectorNm, FaultOf(a => a.emms(), Cr0Ts, 0));
        Assert.Equal(VectorUd, FaultOf(a => a.emms(), Cr0Em, 0));
    }
}
