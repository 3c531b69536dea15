using Virt.Cpu;
using Xunit;

namespace Virt.Run.Tests;

/// <summary>What <c>-cpu</c> selects: the CPUID model the machine is built with.</summary>
public sealed class CpuModelTests
{
    [Fact]
    public void MaxAndTheDefaultReportEverythingImplemented()
    {
        Assert.Equal(CpuidModel.Default, MachineFactory.CpuidFor("max"));
        Assert.Equal(CpuidModel.Default, MachineFactory.CpuidFor(null));
    }

    [Fact]
    public void PentiumProReportsNeitherFxsrNorSysenterNorNx()
    {
        CpuidModel model = MachineFactory.CpuidFor("pentium-pro");
        Assert.Equal(0u, model.FeaturesEdx & (1u << 24)); // FXSR came with later P6 models
        Assert.Equal(0u, model.FeaturesEdx & (1u << 11)); // SEP: SYSENTER does not work on the Pentium Pro
        Assert.Equal(0u, model.ExtendedFeaturesEdx);
        Assert.Equal(0u, model.FeaturesEdx & CpuidModel.MmxFeatureEdx); // MMX came with the Pentium MMX and Pentium II
        Assert.Equal(0u, model.FeaturesEcx);
        Assert.Equal(0u, model.FeaturesEdx & CpuidModel.SseFeaturesEdx); // SSE came with the Pentium III
        Assert.Equal(CpuidModel.DefaultFeaturesEdx & ~((1u << 11) | CpuidModel.MmxFeatureEdx | (1u << 24) | CpuidModel.SseFeaturesEdx), model.FeaturesEdx);
        Assert.Equal(0x619u, model.Signature);
        model.Validate();
    }
}
