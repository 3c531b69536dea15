using FsCheck.Xunit;
using Xunit;

namespace Virt.Devices.Tests.Chipset;

/// <summary>The PIIX3 ISA bridge against Intel 290550 (2.2.9 PIRQRC[A:D]) and QEMU's slot swizzle.</summary>
public sealed class Piix3IsaBridgeTests
{
    private readonly Pic8259Pair _pic = new();
    private readonly Piix3IsaBridge _bridge;

    public Piix3IsaBridgeTests()
    {
        _bridge = new Piix3IsaBridge(irq => _pic.CreateInputLine(irq, "PIRQ"));
        _bridge.Reset();
    }

    [Fact]
    public void Identity_AndResetValues()
    {
        Assert.Equal(0x7000_8086u, _bridge.ReadConfiguration(0x00, 4));
        Assert.Equal(0x0601_0000u, _bridge.ReadConfiguration(0x08, 4)); // ISA bridge
        Assert.Equal(0x80u, _bridge.ReadConfiguration(0x0E, 1)); // multi-function
        Assert.Equal(0x8080_8080u, _bridge.ReadConfiguration(Piix3IsaBridge.PirqRouteControl, 4));
        Assert.Equal(0x4Du, _bridge.ReadConfiguration(0x4C, 1));
        Assert.Equal(0x0003u, _bridge.ReadConfiguration(0x4E, 2));
        Assert.Equal(0x1100_1AF4u, _bridge.ReadConfiguration(0x2C, 4)); // QEMU's subsystem (Red Hat, QEMU virtual machine)
    }

    [Theory]
    [InlineData(1, PciInterruptPin.IntA, 0)] // the PIIX functions' INTA#: PIRQA
    [InlineData(2, PciInterruptPin.IntA, 1)]
    [InlineData(2, PciInterruptPin.IntD, 0)]
    [InlineData(3, PciInterruptPin.IntB, 3)]
    [InlineData(4, PciInterruptPin.IntA, 3)]
    [InlineData(5, PciInterruptPin.IntA, 0)]
    [InlineData(0, PciInterruptPin.IntA, 3)]
    public void Swizzle_IsPinMinusOnePlusDeviceMinusOne_ModFour(int device, PciInterruptPin pin, int link) =>
        Assert.Equal(link, Piix3IsaBridge.GetPirqLink(device, pin));

    [Fact]
    public void PirqRouting_DrivesTheRoutedIrq_AndBit7Disables()
    {
        IInterruptLine card = _bridge.CreateIntxLine(new PciFunctionAddress(0, 2, 0), PciInterruptPin.IntA, "card"); // PIRQB
        card.SetLevel(true);
        Assert.False(_pic.GetInput(11).Level); // PIRQB not routed yet
        _bridge.WriteConfiguration(0x61, 1, 0x0B);
        Assert.Equal(11, _bridge.GetRoutedIrq(1));
        Assert.True(_pic.GetInput(11).Level);
        _bridge.WriteConfiguration(0x61, 1, 0x0A); // re-routed: IRQ 11 falls, IRQ 10 rises
        Assert.False(_pic.GetInput(11).Level);
        Assert.True(_pic.GetInput(10).Level);
        _bridge.WriteConfiguration(0x61, 1, 0x8A); // disabled
        Assert.False(_pic.GetInput(10).Level);
        Assert.Null(_bridge.GetRoutedIrq(1));
        _bridge.WriteConfiguration(0x61, 1, 0x0D); // IRQ 13 is reserved: no IRQ
        Assert.Null(_bridge.GetRoutedIrq(1));
        Assert.False(_pic.GetInput(13).Level);
        _bridge.WriteConfiguration(0x61, 1, 0x7B); // bits 6:4 reserved
        Assert.Equal(0x0Bu, _bridge.ReadConfiguration(0x61, 1));
        card.SetLevel(false);
        Assert.False(_pic.GetInput(11).Level);
    }

    [Fact]
    public void SharedLink_StaysHighWhileAnyFunctionAsserts()
    {
        _bridge.WriteConfiguration(0x60, 1, 0x05);
        IInterruptLine a = _bridge.CreateIntxLine(new PciFunctionAddress(0, 5, 0), PciInterruptPin.IntA, "a"); // PIRQA
        IInterruptLine b = _bridge.CreateIntxLine(new PciFunctionAddress(0, 2, 0), PciInterruptPin.IntD, "b"); // PIRQA
        a.SetLevel(true);
        b.SetLevel(true);
        a.SetLevel(false);
        Assert.True(_pic.GetInput(5).Level);
        b.SetLevel(false);
        Assert.False(_pic.GetInput(5).Level);
    }

    [Fact]
    public void LevelTriggeredThroughTheElcr_TheIrqRepeatsUntilTheDeviceLowersIt()
    {
        IoWrite(0x4D1, 0x08); // ELCR2: IRQ 11 level-triggered
        IoWrite(0xA1, 0xF7); // slave: unmask IRQ 11
        IoWrite(0x21, 0xFB); // master: unmask the cascade
        _bridge.WriteConfiguration(0x62, 1, 0x0B); // PIRQC
        IInterruptLine card = _bridge.CreateIntxLine(new PciFunctionAddress(0, 3, 0), PciInterruptPin.IntA, "card");
        card.SetLevel(true);
        Assert.True(_pic.HasPendingInterrupt);
        Assert.Equal(0x73, _pic.AcknowledgeInterrupt()); // slave base 70h + 3
        IoWrite(0xA0, 0x20);
        IoWrite(0x20, 0x20);
        Assert.True(_pic.HasPendingInterrupt); // still asserted: requested again
        Assert.Equal(0x73, _pic.AcknowledgeInterrupt());
        card.SetLevel(false);
        IoWrite(0xA0, 0x20);
        IoWrite(0x20, 0x20);
        Assert.False(_pic.HasPendingInterrupt);
    }

    [Fact]
    public void ApicInputs_FollowTheLinksWhateverTheRouting()
    {
        var apic = new Fakes.RecordingInterruptLine[4];
        for (int i = 0; i < 4; i++)
        {
            apic[i] = new Fakes.RecordingInterruptLine();
        }

        IInterruptLine card = _bridge.CreateIntxLine(new PciFunctionAddress(0, 4, 0), PciInterruptPin.IntB, "card"); // PIRQA
        card.SetLevel(true);
        _bridge.ConnectApicInputs(apic);
        Assert.True(apic[0].IsAsserted); // takes the current level when connected
        Assert.False(apic[1].IsAsserted);
        card.SetLevel(false);
        Assert.False(apic[0].IsAsserted);
        Assert.Throws<ArgumentException>(() => _bridge.ConnectApicInputs([apic[0]]));
    }

    [Property(MaxTest = 100)]
    public bool State_RoundTrips_AndReroutes(byte[] routes, bool level)
    {
        var pic = new Pic8259Pair();
        var bridge = new Piix3IsaBridge(irq => pic.CreateInputLine(irq, "PIRQ"));
        bridge.Reset();
        for (int i = 0; i < routes.Length; i++)
        {
            bridge.WriteConfiguration(0x60 + (i % 4), 1, routes[i]);
        }

        Piix3IsaBridgeState saved = bridge.SaveState();
        var copyPic = new Pic8259Pair();
        var copy = new Piix3IsaBridge(irq => copyPic.CreateInputLine(irq, "PIRQ"));
        copy.Reset();
        IInterruptLine line = copy.CreateIntxLine(new PciFunctionAddress(0, 1, 0), PciInterruptPin.IntA, "x");
        line.SetLevel(level);
        copy.RestoreState(saved);
        int? irq = copy.GetRoutedIrq(0);
        return copy.SaveState() == saved && irq == bridge.GetRoutedIrq(0) && (irq is null || copyPic.GetInput(irq.Value).Level == level);
    }

    private void IoWrite(ushort port, byte value)
    {
        foreach (PortBinding binding in _pic.PortBindings)
        {
            if (port >= binding.FirstPort && port < binding.FirstPort + binding.Count)
            {
                binding.Device.Write((ushort)(port - binding.FirstPort), 1, value);
                return;
            }
        }

        throw new InvalidOperationException($"No PIC port {port:X}h.");
    }
}
