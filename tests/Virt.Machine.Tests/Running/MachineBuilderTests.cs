using Virt.Machine.Boot;
using Virt.Memory;
using Xunit;

namespace Virt.Machine.Tests.Running;

public sealed class MachineBuilderTests
{
    [Theory]
    [InlineData(0UL)]
    [InlineData(512UL * 1024)]
    [InlineData((1UL << 20) + 1)]
    [InlineData(1UL << 41)]
    public void BadMemorySizesNameTheOption(ulong size)
    {
        var e = Assert.Throws<MachineConfigurationException>(() => new MachineBuilder().WithMemorySize(size).Build());
        Assert.StartsWith("Memory size:", e.Message, StringComparison.Ordinal);
        Assert.Equal(MachineSetting.MemorySize, e.Setting);
    }

    [Fact]
    public void MissingInitrdFileIsNamedAsTheInitrd()
    {
        string kernel = Path.GetTempFileName();
        try
        {
            File.WriteAllBytes(kernel, new byte[4096]);
            var e = Assert.Throws<MachineConfigurationException>(() => new MachineBuilder().WithKernel(kernel, "/nonexistent/initrd.img").Build());
            Assert.StartsWith("Cannot read the initial ramdisk '/nonexistent/initrd.img'", e.Message, StringComparison.Ordinal);
            Assert.Equal(MachineSetting.Initrd, e.Setting);
        }
        finally
        {
            File.Delete(kernel);
        }
    }

    [Fact]
    public void ConfigurationMessagesSpeakOfSettingsNotCommandLineOptions()
    {
        // The library never speaks in Virt.Run's terms ("-kernel: ..."): the front end adds its own option names.
        var errors = new List<MachineConfigurationException>
        {
            Assert.Throws<MachineConfigurationException>(() => new MachineBuilder().WithMemorySize(0).Build()),
            Assert.Throws<MachineConfigurationException>(() => new MachineBuilder().WithKernel("/nonexistent/vmlinuz").Build()),
            Assert.Throws<MachineConfigurationException>(() => new MachineBuilder().WithFirmware("/nonexistent/bios.bin").Build()),
            Assert.Throws<MachineConfigurationException>(() => new MachineBuilder().WithFirmware(new byte[1000], "tiny.rom").Build()),
        };
        Assert.All(errors, e => Assert.DoesNotMatch(@"(^|\s)-(m|kernel|initrd|bios|append)\b", e.Message));
    }

    [Fact]
    public void UnknownTraceEventsAreRejected()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new MachineBuilder().WithTrace((MachineTraceEvents)0x100));
    }

    [Fact]
    public void MissingKernelFileIsNamed()
    {
        var e = Assert.Throws<MachineConfigurationException>(() => new MachineBuilder().WithKernel("/nonexistent/vmlinuz").Build());
        Assert.StartsWith("Cannot read the kernel image '/nonexistent/vmlinuz'", e.Message, StringComparison.Ordinal);
        Assert.Equal(MachineSetting.Kernel, e.Setting);
    }

    [Fact]
    public void KernelOfUnknownFormatIsRejected()
    {
        string path = Path.GetTempFileName();
        try
        {
            File.WriteAllBytes(path, new byte[4096]);
            var e = Assert.Throws<MachineConfigurationException>(() => new MachineBuilder().WithKernel(path).Build());
            Assert.Contains("neither a Linux bzImage", e.Message, StringComparison.Ordinal);
            Assert.Equal(MachineSetting.Kernel, e.Setting);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void MissingFirmwareFileIsNamed()
    {
        var e = Assert.Throws<MachineConfigurationException>(() => new MachineBuilder().WithFirmware("/nonexistent/bios.bin").Build());
        Assert.StartsWith("Cannot read the firmware image '/nonexistent/bios.bin'", e.Message, StringComparison.Ordinal);
        Assert.Equal(MachineSetting.Firmware, e.Setting);
    }

    [Fact]
    public void FirmwareOfWrongSizeIsRejected()
    {
        var e = Assert.Throws<MachineConfigurationException>(() => new MachineBuilder().WithFirmware(new byte[1000], "tiny.rom").Build());
        Assert.StartsWith("Firmware image:", e.Message, StringComparison.Ordinal);
        Assert.Contains("tiny.rom", e.Message, StringComparison.Ordinal);
        Assert.Equal(MachineSetting.Firmware, e.Setting);
    }

    [Fact]
    public void FlatBinaryOutsideRamIsRejected()
    {
        var e = Assert.Throws<MachineConfigurationException>(() => new MachineBuilder()
            .WithMemorySize(2UL << 20)
            .WithFlatBinary(new byte[16], new PhysicalAddress(0x300000), BootEntryState.RealMode(0, 0, "x"), "prog.bin")
            .Build());
        Assert.Contains("'prog.bin'", e.Message, StringComparison.Ordinal);
        Assert.Contains("does not fit in guest RAM", e.Message, StringComparison.Ordinal);
        Assert.Equal(MachineSetting.FlatBinary, e.Setting);
    }

    [Fact]
    public void OverlappingCustomPortDeviceIsRejectedWithBothNames()
    {
        var e = Assert.Throws<MachineConfigurationException>(() => new MachineBuilder()
            .AddPortDevice("my-device", 0x60, 1, _ => new Tests.Running.NullPortDevice())
            .Build());
        Assert.Contains("'my-device'", e.Message, StringComparison.Ordinal);
        Assert.Contains("i8042", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void CustomDeviceSeesPortAccessesAndCanRaiseIrqs()
    {
        var device = new NullPortDevice();
        byte[] code = GuestPrograms.Assemble16(0x7C00, a =>
        {
            a.mov(Iced.Intel.AssemblerRegisters.dx, 0x300);
            a.mov(Iced.Intel.AssemblerRegisters.al, 0x5A);
            a.@out(Iced.Intel.AssemblerRegisters.dx, Iced.Intel.AssemblerRegisters.al);
            a.@in(Iced.Intel.AssemblerRegisters.al, Iced.Intel.AssemblerRegisters.dx);
            a.cli();
            a.hlt();
        });
        using Machine machine = new MachineBuilder()
            .AddPortDevice("custom", 0x300, 4, ctx =>
            {
                device.Irq = ctx.CreateInterruptLine(5, "custom");
                return device;
            })
            .WithFlatBinary(code, new PhysicalAddress(0x7C00), BootEntryState.RealMode(0, 0x7C00, "test"))
            .Build();
        machine.Run(maxInstructions: 100);
        Assert.Equal([0x5A], device.Written);
        Assert.Equal(0xA5u, (uint)machine.Cpu.GetRegister(Virt.Cpu.GeneralRegister.Rax) & 0xFF);
        Assert.NotNull(device.Irq);
    }
}
