using Iced.Intel;
using Xunit;
using static Iced.Intel.AssemblerRegisters;
using H = Virt.Cpu.Tests.LongMode.LongModeHarness;

namespace Virt.Cpu.Tests.Decoding;

/// <summary>
/// Instructions of a feature the CPUID model does not advertise raise #UD (Virt.Cpu/Decoding/CpuidFeatureGate.cs; Intel
/// SDM Vol. 2, "#UD If CPUID.xx:yy.FEATURE = 0" in each instruction's exceptions). Each case runs under the default model
/// (no fault) and under the same model without the one feature (#UD).
/// </summary>
public sealed class CpuidFeatureGateTests
{
    private const int VectorInvalidOpcode = 6;

    /// <summary>CR4.OSFXSR, set from outside so the case does not depend on FXSR being advertised.</summary>
    private const ulong Cr4Osfxsr = 1UL << 9;

    public static TheoryData<string> RealModeCases => [.. s_realMode.Keys];

    private static readonly Dictionary<string, (Func<CpuidModel, CpuidModel> Remove, Action<Assembler> Build)> s_realMode = new()
    {
        ["SSE addps"] = (m => m with { FeaturesEdx = m.FeaturesEdx & ~(1u << 25) }, a => a.addps(xmm0, xmm1)),
        ["SSE2 paddq"] = (m => m with { FeaturesEdx = m.FeaturesEdx & ~(1u << 26) }, a => a.paddq(xmm0, xmm1)),
        ["SSE3 haddps"] = (m => m with { FeaturesEcx = m.FeaturesEcx & ~(1u << 0) }, a => a.haddps(xmm0, xmm1)),
        ["SSSE3 pshufb"] = (m => m with { FeaturesEcx = m.FeaturesEcx & ~(1u << 9) }, a => a.pshufb(xmm0, xmm1)),
        ["SSE4.1 pminsd"] = (m => m with { FeaturesEcx = m.FeaturesEcx & ~(1u << 19) }, a => a.pminsd(xmm0, xmm1)),
        ["SSE4.2 pcmpgtq"] = (m => m with { FeaturesEcx = m.FeaturesEcx & ~(1u << 20) }, a => a.pcmpgtq(xmm0, xmm1)),
        ["SSE4.2 crc32"] = (m => m with { FeaturesEcx = m.FeaturesEcx & ~(1u << 20) }, a => a.crc32(eax, ebx)),
        ["POPCNT"] = (m => m with { FeaturesEcx = m.FeaturesEcx & ~(1u << 23) }, a => a.popcnt(ax, bx)),
        ["MMX paddb"] = (m => m with { FeaturesEdx = m.FeaturesEdx & ~(1u << 23) }, a => a.paddb(mm0, mm1)),
        ["FXSR fxsave"] = (m => m with { FeaturesEdx = m.FeaturesEdx & ~(1u << 24) }, a => a.fxsave(__[0x2000])),
        ["CMOV cmove"] = (m => m with { FeaturesEdx = m.FeaturesEdx & ~(1u << 15) }, a => a.cmove(ax, bx)),
        ["RDTSCP"] = (m => m with { ExtendedFeaturesEdx = m.ExtendedFeaturesEdx & ~(1u << 27) }, a => a.rdtscp()),
    };

    private static int RunRealMode(CpuidModel model, Action<Assembler> build)
    {
        var h = new CpuHarness(new CpuOptions { Cpuid = model });
        h.InstallHaltHandler(VectorInvalidOpcode);
        h.Load(a =>
        {
            build(a);
            a.hlt();
        });
        h.Cpu.Cr4 |= Cr4Osfxsr;
        h.Cpu.Run(1_000);
        return h.Cpu.LastExceptionVector;
    }

    [Theory]
    [MemberData(nameof(RealModeCases))]
    public void An_instruction_runs_when_its_feature_is_advertised_and_is_ud_when_not(string name)
    {
        (Func<CpuidModel, CpuidModel> remove, Action<Assembler> build) = s_realMode[name];

        Assert.Equal(-1, RunRealMode(CpuidModel.Default, build));
        Assert.Equal(VectorInvalidOpcode, RunRealMode(remove(CpuidModel.Default), build));
    }

    [Fact]
    public void A_p6_model_cpu_raises_ud_on_sse2_and_still_runs_cmov()
    {
        Assert.Equal(VectorInvalidOpcode, RunRealMode(CpuidModel.P6, a => a.movdqa(xmm0, xmm1)));
        Assert.Equal(VectorInvalidOpcode, RunRealMode(CpuidModel.P6, a => a.lfence()));
        Assert.Equal(-1, RunRealMode(CpuidModel.P6, a => a.cmove(ax, bx)));
        Assert.Equal(-1, RunRealMode(CpuidModel.P6, a => a.pause())); // a NOP on every processor
    }

    [Fact]
    public void Cmpxchg16b_needs_cx16()
    {
        var without = new H(CpuidModel.Default with { FeaturesEcx = CpuidModel.Default.FeaturesEcx & ~CpuidModel.Cx16FeatureEcx });
        without.Run(a =>
        {
            a.mov(r8, H.DataAddress);
            a.cmpxchg16b(__xmmword_ptr[r8]);
            a.hlt();
        });

        Assert.Equal(VectorInvalidOpcode, without.Cpu.LastExceptionVector);
        Assert.Equal(H.HaltedIn(VectorInvalidOpcode), without.Cpu.Rip);
    }
}
