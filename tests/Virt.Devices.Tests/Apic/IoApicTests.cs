using Virt.Devices;
using Virt.Devices.Tests.Fakes;
using Xunit;

namespace Virt.Devices.Tests.Apic;

/// <summary>The I/O APIC against the 82093AA datasheet (290566), section 3.</summary>
public sealed class IoApicTests
{
    private const int RegId = 0x00;
    private const int RegVersion = 0x01;
    private const int RegArbitration = 0x02;
    private const uint Masked = 1u << 16;
    private const uint LevelTriggered = 1u << 15;
    private const uint RemoteIrr = 1u << 14;
    private const uint DeliveryStatus = 1u << 12;

    private readonly RecordingApicTarget _target = new();
    private readonly IoApic _ioApic;

    public IoApicTests()
    {
        _ioApic = new IoApic { Target = _target };
    }

    private static int Low(int pin) => 0x10 + (2 * pin);

    private static int High(int pin) => 0x11 + (2 * pin);

    [Fact]
    public void Identification_registers_read_as_the_datasheet_says()
    {
        Assert.Equal(0x0017_0011u, _ioApic.Get(RegVersion)); // version 11h, 24 entries
        Assert.Equal(0u, _ioApic.Get(RegId));
        _ioApic.Set(RegId, 0xFF00_0000);
        Assert.Equal(0x0F00_0000u, _ioApic.Get(RegId)); // 4-bit ID in bits 27:24
        Assert.Equal(0x0F00_0000u, _ioApic.Get(RegArbitration));
        _ioApic.Set(RegVersion, 0);
        Assert.Equal(0x0017_0011u, _ioApic.Get(RegVersion));
        for (int pin = 0; pin < IoApic.PinCount; pin++)
        {
            Assert.Equal(Masked, _ioApic.Get(Low(pin)));
            Assert.Equal(0u, _ioApic.Get(High(pin)));
        }
    }

    [Fact]
    public void Redirection_entries_keep_their_read_only_bits()
    {
        _ioApic.Set(Low(3), 0xFFFF_FFFF);
        Assert.Equal(0x0001_AFFFu, _ioApic.Get(Low(3))); // delivery status and remote IRR cannot be written
        _ioApic.Set(High(3), 0xFFFF_FFFF);
        Assert.Equal(0xFF00_0000u, _ioApic.Get(High(3)));
        Assert.Equal(0u, _ioApic.Get(Low(3)) & (RemoteIrr | DeliveryStatus));
    }

    [Fact]
    public void Edge_pin_sends_once_per_rising_edge_and_loses_edges_while_masked()
    {
        InterruptLine line = _ioApic.CreateInputLine(2, "PIT");
        line.Pulse(); // masked since reset: lost
        Assert.Empty(_target.Messages);

        _ioApic.Set(High(2), 0x0100_0000); // physical APIC 1
        _ioApic.Set(Low(2), 0x30);
        Assert.Empty(_target.Messages); // unmasking an edge pin sends nothing
        line.SetLevel(true);
        line.SetLevel(true);
        Assert.Equal([(ApicDeliveryMode.Fixed, (byte)0x30, false, false, (byte)1)], _target.Messages);
        line.SetLevel(false);
        line.Pulse();
        Assert.Equal(2, _target.Messages.Count);
    }

    [Fact]
    public void Level_pin_waits_for_the_eoi_through_remote_irr()
    {
        InterruptLine line = _ioApic.CreateInputLine(16, "PCI INTA");
        _ioApic.Set(Low(16), LevelTriggered | 0x41);
        line.SetLevel(true);
        Assert.Single(_target.Messages);
        Assert.True(_target.Messages[0].Level);
        Assert.NotEqual(0u, _ioApic.Get(Low(16)) & RemoteIrr);

        _ioApic.OnEndOfInterrupt(0x42); // another vector: nothing
        Assert.NotEqual(0u, _ioApic.Get(Low(16)) & RemoteIrr);

        _ioApic.OnEndOfInterrupt(0x41); // still asserted: asks again
        Assert.Equal(2, _target.Messages.Count);
        Assert.NotEqual(0u, _ioApic.Get(Low(16)) & RemoteIrr);

        line.SetLevel(false);
        _ioApic.OnEndOfInterrupt(0x41);
        Assert.Equal(2, _target.Messages.Count);
        Assert.Equal(0u, _ioApic.Get(Low(16)) & RemoteIrr);
    }

    [Fact]
    public void Unmasking_an_asserted_level_pin_sends_and_a_refused_message_sets_no_remote_irr()
    {
        InterruptLine line = _ioApic.CreateInputLine(9, "SCI");
        line.SetLevel(true);
        _target.Accept = false;
        _ioApic.Set(Low(9), LevelTriggered | 0x49);
        Assert.Single(_target.Messages);
        Assert.Equal(0u, _ioApic.Get(Low(9)) & RemoteIrr);
        Assert.Equal(1, _ioApic.UndeliveredMessageCount);

        _target.Accept = true;
        _ioApic.Set(Low(9), LevelTriggered | 0x49); // rewriting the entry asks again
        Assert.Equal(2, _target.Messages.Count);
        Assert.NotEqual(0u, _ioApic.Get(Low(9)) & RemoteIrr);
    }

    [Fact]
    public void Delivery_mode_and_destination_mode_reach_the_message()
    {
        InterruptLine line = _ioApic.CreateInputLine(0, "8259 INTR");
        _ioApic.Set(High(0), 0x0300_0000);
        _ioApic.Set(Low(0), (7u << 8) | (1u << 11)); // ExtINT, logical
        line.Pulse();
        Assert.Equal((ApicDeliveryMode.ExtInt, (byte)0, false, true, (byte)3), _target.Messages.Single());
    }

    [Fact]
    public void Reset_masks_every_entry_and_keeps_the_id_from_the_options()
    {
        var ioApic = new IoApic(new IoApicOptions { Id = 2 });
        ioApic.Set(Low(5), 0x35);
        ioApic.Reset();
        Assert.Equal(Masked, ioApic.Get(Low(5)));
        Assert.Equal(0x0200_0000u, ioApic.Get(RegId));
        Assert.Throws<ArgumentOutOfRangeException>(() => new IoApic(new IoApicOptions { Id = 16 }));
    }
}
