using FsCheck.Xunit;
using Virt.Devices;
using Virt.Devices.Tests.Timing;
using Xunit;

namespace Virt.Devices.Tests.Pic8259;

public sealed class Pic8259PairTests
{
    private const byte NonSpecificEoi = 0x20;

    private readonly Pic8259Pair _pic = new();
    private readonly TimingTestPorts _ports = new();
    private readonly InterruptLine[] _lines = new InterruptLine[16];

    public Pic8259PairTests()
    {
        _ports.Add(_pic);
        for (int irq = 0; irq < 16; irq++)
        {
            if (irq != 2)
            {
                _lines[irq] = _pic.CreateInputLine(irq, "device" + irq);
            }
        }
    }

    [Fact]
    public void Power_on_masks_everything()
    {
        _lines[1].Pulse();
        Assert.False(_pic.HasPendingInterrupt);
        Assert.Equal(0xFF, _ports.In(0x21));
    }

    [Fact]
    public void Cascade_delivers_vectors_in_priority_order_with_eois()
    {
        Initialize(autoEoi: false);
        _lines[3].Pulse();
        _lines[10].Pulse();
        _lines[1].Pulse();
        _lines[8].Pulse();

        // Priority 0 > 1 > 2 (slave 8 > 9 > ... > 15) > 3 > ... > 7.
        Assert.Equal(0x21, Ack());
        Assert.False(_pic.HasPendingInterrupt); // IRQ1 in service blocks IR2 and below
        _ports.Out(0x20, NonSpecificEoi);
        Assert.Equal(0x28, Ack());
        Assert.False(_pic.HasPendingInterrupt); // master IR2 in service
        EoiBoth();
        Assert.Equal(0x2A, Ack());
        EoiBoth();
        Assert.Equal(0x23, Ack());
        _ports.Out(0x20, NonSpecificEoi);
        Assert.False(_pic.HasPendingInterrupt);
        Assert.Equal(0, _pic.SpuriousInterruptCount);
    }

    [Fact]
    public void Higher_priority_request_nests_over_a_lower_one_in_service()
    {
        Initialize(autoEoi: false);
        _lines[5].Pulse();
        Assert.Equal(0x25, Ack());
        _lines[6].Pulse();
        Assert.False(_pic.HasPendingInterrupt);
        _lines[0].Pulse();
        Assert.Equal(0x20, Ack());
        _ports.Out(0x20, 0x0B); // OCW3: read ISR
        Assert.Equal(0b0010_0001, _ports.In(0x20));
        _ports.Out(0x20, NonSpecificEoi); // clears IR0, the highest in service
        Assert.Equal(0b0010_0000, _ports.In(0x20));
        _ports.Out(0x20, 0x65); // specific EOI for IR5
        Assert.Equal(0x26, Ack());
    }

    [Fact]
    public void Masked_requests_wait_in_irr_until_unmasked()
    {
        Initialize(autoEoi: false);
        _ports.Out(0x21, 0xFF & ~0x04); // only the cascade open
        _ports.Out(0xA1, 0xFF);
        _lines[4].Pulse();
        _lines[12].Pulse();
        Assert.False(_pic.HasPendingInterrupt);
        Assert.Equal(0x10, _ports.In(0x20)); // IRR (default read register)
        _ports.Out(0xA1, unchecked((byte)~0x10));
        Assert.Equal(0x2C, Ack());
        EoiBoth();
        _ports.Out(0x21, 0);
        Assert.Equal(0x24, Ack());
    }

    [Fact]
    public void Auto_eoi_leaves_nothing_in_service()
    {
        Initialize(autoEoi: true);
        _lines[3].Pulse();
        Assert.Equal(0x23, Ack());
        _ports.Out(0x20, 0x0B);
        Assert.Equal(0, _ports.In(0x20));
        _lines[4].Pulse();
        Assert.Equal(0x24, Ack()); // not blocked: nothing in service
    }

    [Fact]
    public void Rotate_on_non_specific_eoi_gives_round_robin()
    {
        Initialize(autoEoi: false);
        var order = new List<byte>();
        for (int round = 0; round < 2; round++)
        {
            _lines[3].Pulse();
            _lines[4].Pulse();
            _lines[5].Pulse();
            for (int i = 0; i < 3; i++)
            {
                order.Add(Ack());
                _ports.Out(0x20, 0xA0); // rotate on non-specific EOI
            }
        }

        // After IR5 is served it has the lowest priority, so IR6, 7, 0, 1, ... come first: 3 again leads.
        Assert.Equal(new byte[] { 0x23, 0x24, 0x25, 0x23, 0x24, 0x25 }, order);

        _ports.Out(0x20, 0xC3); // set priority: IR3 lowest, IR4 highest
        _lines[3].Pulse();
        _lines[4].Pulse();
        _lines[0].Pulse();
        Assert.Equal(0x24, Ack());
    }

    [Fact]
    public void Rotate_in_auto_eoi_mode_moves_the_served_level_to_lowest()
    {
        Initialize(autoEoi: true);
        _ports.Out(0x20, 0x80); // set rotate in AEOI
        _lines[1].Pulse();
        Assert.Equal(0x21, Ack());
        _lines[1].Pulse();
        _lines[6].Pulse();
        Assert.Equal(0x26, Ack()); // IR1 is now the lowest
        Assert.Equal(0x21, Ack());
    }

    [Fact]
    public void Spurious_irq7_when_the_request_goes_away_before_inta()
    {
        Initialize(autoEoi: false);
        _lines[5].Pulse();
        Assert.True(_pic.HasPendingInterrupt);
        _ports.Out(0x21, 0x20); // the guest masks it before the CPU acknowledges
        Assert.Equal(0x27, Ack());
        Assert.Equal(1, _pic.SpuriousInterruptCount);
        _ports.Out(0x20, 0x0B);
        Assert.Equal(0, _ports.In(0x20)); // ISR7 not set
    }

    [Fact]
    public void Spurious_irq15_leaves_the_master_cascade_in_service()
    {
        Initialize(autoEoi: false);
        _ports.Out(0x4D1, 0x04); // IRQ10 level-triggered
        _lines[10].SetLevel(true);
        Assert.True(_pic.HasPendingInterrupt);
        _lines[10].SetLevel(false); // level request withdrawn; master's IR2 edge stays latched
        Assert.True(_pic.HasPendingInterrupt);
        Assert.Equal(0x2F, Ack());
        Assert.Equal(1, _pic.SpuriousInterruptCount);
        _ports.Out(0x20, 0x0B);
        Assert.Equal(0x04, _ports.In(0x20));
        _ports.Out(0xA0, 0x0B);
        Assert.Equal(0, _ports.In(0xA0));
    }

    [Fact]
    public void Level_triggered_input_repeats_until_deasserted()
    {
        Initialize(autoEoi: false);
        _ports.Out(0x4D0, 0x20); // IRQ5 level
        Assert.Equal(0x20, _ports.In(0x4D0));
        _lines[5].SetLevel(true);
        Assert.Equal(0x25, Ack());
        _ports.Out(0x20, NonSpecificEoi);
        Assert.Equal(0x25, Ack());
        _lines[5].SetLevel(false);
        _ports.Out(0x20, NonSpecificEoi);
        Assert.False(_pic.HasPendingInterrupt);
    }

    [Fact]
    public void Edge_triggered_input_held_high_requests_once()
    {
        Initialize(autoEoi: false);
        _lines[6].SetLevel(true);
        Assert.Equal(0x26, Ack());
        _ports.Out(0x20, NonSpecificEoi);
        Assert.False(_pic.HasPendingInterrupt);
        _lines[6].SetLevel(false);
        _lines[6].SetLevel(true);
        Assert.Equal(0x26, Ack());
    }

    [Fact]
    public void Shared_level_input_stays_requested_while_any_device_asserts()
    {
        Initialize(autoEoi: false);
        _ports.Out(0x4D1, 0x08); // IRQ11 level
        InterruptLine second = _pic.CreateInputLine(11, "second");
        _lines[11].SetLevel(true);
        second.SetLevel(true);
        Assert.Equal(0x2B, Ack());
        EoiBoth();
        _lines[11].SetLevel(false);
        Assert.True(_pic.HasPendingInterrupt);
        second.SetLevel(false);

        // The slave's request went away, but the master latched the edge of the slave's INT on IR2: a real PC/AT
        // then delivers a spurious IRQ 15 (slave base + 7) and leaves only the master's IR2 in service.
        Assert.True(_pic.HasPendingInterrupt);
        Assert.Equal(0x2F, Ack());
        _ports.Out(0x20, NonSpecificEoi);
        Assert.False(_pic.HasPendingInterrupt);
    }

    [Fact]
    public void Poll_mode_reads_the_highest_request_and_acknowledges_it()
    {
        Initialize(autoEoi: false);
        _lines[6].Pulse();
        _lines[4].Pulse();
        _ports.Out(0x20, 0x0C); // OCW3: poll
        Assert.Equal(0x84, _ports.In(0x20));
        Assert.Equal(0x10, ReadIsr()); // the poll acknowledged IR4
        _ports.Out(0x20, NonSpecificEoi);
        _ports.Out(0x20, 0x0C);
        Assert.Equal(0x86, _ports.In(0x20));
        _ports.Out(0x20, NonSpecificEoi);
        _ports.Out(0x20, 0x0C);
        Assert.Equal(0x00, _ports.In(0x20));
    }

    [Fact]
    public void Special_mask_mode_lets_lower_levels_through()
    {
        Initialize(autoEoi: false);
        _lines[3].Pulse();
        Assert.Equal(0x23, Ack());
        _lines[6].Pulse();
        Assert.False(_pic.HasPendingInterrupt);
        _ports.Out(0x20, 0x68); // OCW3: set special mask mode
        _ports.Out(0x21, 0x08); // mask IR3 (in service)
        Assert.Equal(0x26, Ack());
        _ports.Out(0x20, 0x48); // reset special mask mode
        _ports.Out(0x20, 0x66); // specific EOI IR6
        _ports.Out(0x20, 0x63); // specific EOI IR3
        _ports.Out(0x20, 0x0B);
        Assert.Equal(0, _ports.In(0x20));
    }

    [Fact]
    public void Misuse_is_counted_not_thrown()
    {
        Initialize(autoEoi: false);
        _ports.Out(0x20, NonSpecificEoi); // nothing in service
        _ports.Out(0x4D0, 0x07); // reserved ELCR bits
        _ports.Out(0x20, 0x10); // ICW1 without ICW4
        Assert.Equal(3, _pic.GuestMisuseCount);
        Assert.Equal(0, _ports.In(0x4D0));
    }

    [Fact]
    public void Irq2_is_the_cascade()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => _pic.GetInput(2));
        Assert.Throws<ArgumentOutOfRangeException>(() => _pic.GetInput(16));
    }

    [Property(MaxTest = 200)]
    public bool State_round_trips(byte[] script)
    {
        Initialize(autoEoi: false);
        PicScript.Run(_pic, _ports, _lines, script);
        Pic8259PairState saved = _pic.SaveState();
        var other = new Pic8259Pair();
        other.RestoreState(saved);
        return other.SaveState() == saved;
    }

    [Fact]
    public void Restore_rejects_a_bad_version()
    {
        Pic8259PairState saved = _pic.SaveState();
        Assert.Throws<ArgumentException>(() => _pic.RestoreState(saved with { Version = 2 }));
        Assert.Throws<ArgumentException>(() => _pic.RestoreState(saved with { Master = saved.Master with { InitStep = 1 } }));
    }

    private byte ReadIsr()
    {
        _ports.Out(0x20, 0x0B);
        byte isr = _ports.In(0x20);
        _ports.Out(0x20, 0x0A);
        return isr;
    }

    private byte Ack()
    {
        return _pic.AcknowledgeInterrupt();
    }

    private void EoiBoth()
    {
        _ports.Out(0xA0, NonSpecificEoi);
        _ports.Out(0x20, NonSpecificEoi);
    }

    private void Initialize(bool autoEoi)
    {
        byte icw4 = (byte)(autoEoi ? 0x03 : 0x01);
        _ports.Out(0x20, 0x11);
        _ports.Out(0x21, 0x20);
        _ports.Out(0x21, 0x04);
        _ports.Out(0x21, icw4);
        _ports.Out(0xA0, 0x11);
        _ports.Out(0xA1, 0x28);
        _ports.Out(0xA1, 0x02);
        _ports.Out(0xA1, icw4);
        _ports.Out(0x21, 0);
        _ports.Out(0xA1, 0);
    }
}
