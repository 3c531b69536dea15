using Virt.Devices;
using Virt.Machine;
using Virt.Run.CommandLine;
using Xunit;

namespace Virt.Run.Tests;

/// <summary>
/// <c>-device edu</c> on the default board, driven by <see cref="EduKernel"/> booted with <c>-kernel</c>: factorial,
/// DMA to and from guest RAM, interrupts through the PIRQ link on the I/O APIC and through MSI; and the
/// <c>-device</c> option's checks.
/// </summary>
public sealed class EduDeviceGuestTests
{
    [Fact]
    public void EduKernel_DrivesTheCard_OnTheDefaultBoard()
    {
        string dir = Directory.CreateTempSubdirectory("virt-edu-").FullName;
        try
        {
            string kernel = Path.Combine(dir, "edu.mb");
            string log = Path.Combine(dir, "debugcon.txt");
            File.WriteAllBytes(kernel, EduKernel.Build());
            MachineStopReason stop;
            int slot;
            int irq;
            var disposables = new DisposableList();
            using (disposables)
            {
                using Virt.Machine.Machine machine = MachineFactory.Create(
                    RunOptionsParser.Parse(["-display", "none", "-serial", "null", "--deterministic", "-kernel", kernel, "-device", "edu,addr=5",
                        "-device", "isa-debug-exit,iobase=0x501,iosize=2", "-debugcon", "file:" + log]),
                    disposables);
                EduDevice card = machine.FindDevice<EduDevice>()!;
                slot = card.Address.Device;
                irq = (int)card.ReadConfiguration(PciConfigurationRegisters.InterruptLine, 1); // where the board routed INTA# for the kernel
                stop = machine.Run(maxInstructions: 20_000_000);
                Assert.Equal(0, card.RefusedDmaCount);
            }

            Assert.Equal(MachineStopKind.DebugExit, stop.Kind);
            Assert.Equal(ProcessExitStatuses.ForDebugExit(0), stop.ExitCode);
            Assert.Equal(5, slot);
            string[] printed = File.ReadAllText(log).TrimEnd('\n', ' ').Split(' ');
            Assert.InRange(irq, 3, 15);
            string[] expected = EduKernel.Expected(slot, irq, Factorial(EduKernel.FactorialInput), Factorial(EduKernel.FactorialInterruptInput), EduDevice.Identification);
            Assert.Equal(EduKernel.Fields.Length, expected.Length);
            for (int i = 0; i < expected.Length; i++)
            {
                Assert.True(expected[i] == printed.ElementAtOrDefault(i), $"{EduKernel.Fields[i]}: expected {expected[i]}, printed {printed.ElementAtOrDefault(i)} (all: {string.Join(' ', printed)})");
            }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Theory]
    [InlineData(new[] { "-device", "edu,colour=red" }, "-device edu: unknown property 'colour' (supported: addr, dma_mask)")]
    [InlineData(new[] { "-device", "edu,addr=1" }, "-device edu,addr: device number 1 is not free for cards (2-31")]
    [InlineData(new[] { "-device", "edu,addr=zz" }, "is not a PCI address")]
    [InlineData(new[] { "-device", "edu,dma_mask=0" }, "-device edu,dma_mask: the mask must not be 0")]
    [InlineData(new[] { "-device", "VGA,romfile=x.bin,depth=8" }, "-device VGA: unknown property 'depth' (supported: romfile, vgamem_mb)")]
    [InlineData(new[] { "-device", "VGA", "-device", "VGA" }, "give -device VGA once")]
    [InlineData(new[] { "-device", "VGA,vgamem_mb=3" }, "is not a power of two from 1 to 256")]
    [InlineData(new[] { "-device", "virtio-net-pci" }, "-device: 'virtio-net-pci' is not a supported device (supported: edu, VGA, isa-debug-exit, isa-debugcon; -device help lists them)")]
    public void BadDeviceOptions_FailEarly_NamingTheDeviceAndProperty(string[] args, string message)
    {
        RunOptionsException e = Assert.Throws<RunOptionsException>(() => RunOptionsParser.Parse(args));
        Assert.Contains(message, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void DeviceHelp_ListsEveryDeviceWithItsProperties()
    {
        Assert.True(RunOptionsParser.Parse(["-device", "help"]).ShowDeviceHelp);
        foreach ((string name, string bus, _, string[] properties) in RunOptionsParser.Devices)
        {
            Assert.Contains($"name \"{name}\", bus {bus}", RunOptionsParser.DeviceHelpText, StringComparison.Ordinal);
            Assert.Contains(string.Join(", ", properties), RunOptionsParser.DeviceHelpText, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void PciCards_NeedThePcBoard_AndDistinctAddresses()
    {
        using var disposables = new DisposableList();
        RunOptionsException isa = Assert.Throws<RunOptionsException>(() => MachineFactory.Create(RunOptionsParser.Parse(["-display", "none", "-serial", "null", "-M", "isapc", "-device", "edu"]), disposables));
        Assert.Equal("-device edu: a PCI card; the isapc board has no PCI bus (use -M pc)", isa.Message);
        RunOptionsException vga = Assert.Throws<RunOptionsException>(() => MachineFactory.Create(RunOptionsParser.Parse(["-display", "none", "-serial", "null", "-M", "isapc", "-device", "VGA"]), disposables));
        Assert.StartsWith("-device VGA: the std VGA is a PCI card", vga.Message, StringComparison.Ordinal);
        RunOptionsException clash = Assert.Throws<RunOptionsException>(() => MachineFactory.Create(RunOptionsParser.Parse(["-display", "none", "-serial", "null", "-device", "edu,addr=6", "-device", "edu,addr=06.0"]), disposables));
        Assert.Contains("another -device already sits at device 06", clash.Message, StringComparison.Ordinal);

        using Virt.Machine.Machine two = MachineFactory.Create(RunOptionsParser.Parse(["-display", "none", "-serial", "null", "-device", "edu", "-device", "edu,dma_mask=0xffffffff"]), disposables);
        EduDevice[] cards = [.. two.Devices.OfType<EduDevice>()];
        Assert.Equal(2, cards.Length);
        Assert.Equal(EduDevice.DefaultDmaMask, cards[0].DmaMask);
        Assert.Equal(0xFFFF_FFFFul, cards[1].DmaMask);
        Assert.NotEqual(cards[0].Address.Device, cards[1].Address.Device);
    }

    private static uint Factorial(uint n)
    {
        uint result = 1;
        for (uint i = 2; i <= n; i++)
        {
            result = unchecked(result * i);
        }

        return result;
    }
}
