using Virt.Devices;
using Virt.Machine;
using Virt.Run.CommandLine;
using Xunit;

namespace Virt.Run.Tests;

public sealed class MachineFactoryTests
{
    [Theory]
    [InlineData(MachineSetting.MemorySize, "-m: ")]
    [InlineData(MachineSetting.Firmware, "-bios: ")]
    [InlineData(MachineSetting.Kernel, "-kernel: ")]
    [InlineData(MachineSetting.Initrd, "-initrd: ")]
    public void ConfigurationErrorsGetTheOptionThatGaveTheSetting(MachineSetting setting, string prefix)
    {
        var e = new MachineConfigurationException(setting, "Cannot read the file 'x':\nnot found");
        Assert.Equal(prefix + "Cannot read the file 'x': not found", MachineFactory.DescribeConfigurationError(e));
    }

    [Fact]
    public void ConfigurationErrorsAboutNoOptionArePrintedAsTheyAre()
    {
        var e = new MachineConfigurationException("Device layout: overlap");
        Assert.Equal("Device layout: overlap", MachineFactory.DescribeConfigurationError(e));
    }

    [Fact]
    public void ApicAndHpetOptionsAddTheDevices()
    {
        using var disposables = new DisposableList();
        using Virt.Machine.Machine plain = MachineFactory.Create(RunOptionsParser.Parse(["-display", "none", "-serial", "null", "-M", "isapc"]), disposables);
        Assert.Null(plain.FindDevice<LocalApic>());
        Assert.Null(plain.FindDevice<Hpet>());
        Assert.Null(plain.FindDevice<PciBus>());

        using Virt.Machine.Machine apic = MachineFactory.Create(RunOptionsParser.Parse(["-display", "none", "-serial", "null", "-M", "isapc", "--apic", "--hpet"]), disposables);
        Assert.NotNull(apic.FindDevice<LocalApic>());
        Assert.NotNull(apic.FindDevice<IoApic>());
        Assert.NotNull(apic.FindDevice<Hpet>());
        Assert.Null(apic.FindDevice<PciBus>());

        // The default board is QEMU's pc: PCI, the APICs, the HPET and fw_cfg without any option.
        using Virt.Machine.Machine pc = MachineFactory.Create(RunOptionsParser.Parse(["-display", "none", "-serial", "null"]), disposables);
        Assert.NotNull(pc.FindDevice<PciBus>());
        Assert.NotNull(pc.FindDevice<LocalApic>());
        Assert.NotNull(pc.FindDevice<IoApic>());
        Assert.NotNull(pc.FindDevice<Hpet>());
        Assert.NotNull(pc.FindDevice<Virt.Devices.FwCfg.FwCfgDevice>());
    }
}
