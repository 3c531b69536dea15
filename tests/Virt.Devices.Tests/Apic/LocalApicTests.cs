using Virt.Devices;
using Virt.Devices.Tests.Fakes;
using Xunit;

namespace Virt.Devices.Tests.Apic;

/// <summary>The local APIC against Intel SDM Vol. 3A, chapter 10 (register offsets from Table 10-1).</summary>
public sealed class LocalApicTests
{
    private const int Id = 0x20;
    private const int Version = 0x30;
    private const int Tpr = 0x80;
    private const int Apr = 0x90;
    private const int Ppr = 0xA0;
    private const int Eoi = 0xB0;
    private const int Ldr = 0xD0;
    private const int Dfr = 0xE0;
    private const int Svr = 0xF0;
    private const int Isr = 0x100;
    private const int Tmr = 0x180;
    private const int Irr = 0x200;
    private const int Esr = 0x280;
    private const int IcrLow = 0x300;
    private const int IcrHigh = 0x310;
    private const int LvtTimer = 0x320;
    private const int LvtLint0 = 0x350;
    private const int LvtError = 0x370;
    private const int InitialCount = 0x380;
    private const int CurrentCount = 0x390;
    private const int DivideConfig = 0x3E0;

    private const uint Enabled = 0x100;
    private const uint Masked = 0x10000;
    private const uint Periodic = 1u << 17;
    private const uint TscDeadline = 2u << 17;
    private const uint ExtIntMode = 7u << 8;
    private const uint DivideBy1 = 0xB;

    private readonly ManualClock _clock = new();
    private readonly FakeExternalInterruptSource _pic = new();
    private readonly List<byte> _eois = [];
    private readonly LocalApic _apic;
    private int _nmis;

    public LocalApicTests()
    {
        _apic = new LocalApic(_clock)
        {
            ExternalInterrupts = _pic,
            NmiRequested = () => _nmis++,
        };
        _apic.EndOfInterruptListener = new EoiRecorder(_eois);
    }

    [Fact]
    public void Reset_values_follow_the_sdm()
    {
        // SDM 10.4.7.1: IA32_APIC_BASE FEE00000h, enabled, BSP; LVT entries masked; SVR FFh; DFR all ones.
        Assert.Equal(0xFEE0_0900UL, _apic.ApicBaseMsr);
        Assert.Equal(0x0005_0014u, _apic.Get(Version));
        Assert.Equal(0xFFu, _apic.Get(Svr));
        Assert.Equal(0xFFFF_FFFFu, _apic.Get(Dfr));
        Assert.Equal(0u, _apic.Get(Id));
        Assert.Equal(0u, _apic.Get(Tpr));
        for (int lvt = LvtTimer; lvt <= LvtError; lvt += 0x10)
        {
            Assert.Equal(Masked, _apic.Get(lvt));
        }

        Assert.False(_apic.IsSoftwareEnabled);
    }

    [Fact]
    public void A_software_disabled_apic_passes_the_pic_through()
    {
        _pic.IsInterruptRequested = true;
        _pic.Vector = 0x20;
        Assert.True(_apic.HasPendingInterrupt);
        Assert.Equal(0x20, _apic.AcknowledgeInterrupt());
        Assert.Equal(1, _pic.Acknowledged);
    }

    [Fact]
    public void Enabled_apic_reaches_the_pic_only_through_lint0_in_extint_mode()
    {
        _apic.Set(Svr, Enabled | 0xFF);
        _pic.IsInterruptRequested = true;
        Assert.False(_apic.HasPendingInterrupt); // LINT0 masked since reset

        _apic.Set(LvtLint0, ExtIntMode);
        Assert.True(_apic.HasPendingInterrupt);
        _pic.Vector = 0x21;
        Assert.Equal(0x21, _apic.AcknowledgeInterrupt());
        Assert.Equal(0u, _apic.Get(Isr + 0x10)); // ExtINT sets no ISR bit
    }

    [Fact]
    public void Globally_disabled_apic_passes_the_pic_through_and_forgets_its_registers()
    {
        int windowChanges = 0;
        _apic.WindowChanged = () => windowChanges++;
        _apic.Set(Svr, Enabled | 0xFF);
        _apic.Set(Tpr, 0x30);
        Assert.True(_apic.TryWriteApicBaseMsr(0xFEE0_0000)); // bit 11 clear
        Assert.Equal(1, windowChanges);
        Assert.False(_apic.IsGloballyEnabled);
        Assert.Equal(0xFEE0_0100UL, _apic.ApicBaseMsr); // BSP stays
        _pic.IsInterruptRequested = true;
        Assert.True(_apic.HasPendingInterrupt);
        Assert.False(_apic.DeliverInterrupt(ApicDeliveryMode.Fixed, 0x40, false, false, 0));

        Assert.True(_apic.TryWriteApicBaseMsr(0xFED0_0800));
        Assert.Equal(0xFED0_0000UL, _apic.BaseAddress);
        Assert.Equal(0u, _apic.Get(Tpr));
        Assert.False(_apic.IsSoftwareEnabled);
    }

    [Theory]
    [InlineData(0x0000_0000_FEE0_0C00UL)] // bit 10: x2APIC, not advertised
    [InlineData(0x0000_0000_FEE0_0801UL)] // reserved bit 0
    [InlineData(0x0000_0010_FEE0_0800UL)] // above MAXPHYADDR 36
    public void Apic_base_msr_refuses_reserved_bits(ulong value)
    {
        Assert.False(_apic.TryWriteApicBaseMsr(value));
        Assert.Equal(0xFEE0_0900UL, _apic.ApicBaseMsr);
    }

    [Fact]
    public void Highest_priority_class_is_delivered_first_and_blocks_lower_classes()
    {
        _apic.Set(Svr, Enabled | 0xFF);
        Accept(0x31);
        Accept(0x51);
        Assert.Equal(0x51, _apic.AcknowledgeInterrupt());
        Assert.Equal(0x50u, _apic.Get(Ppr)); // ISRV class 5 above TPR 0
        Accept(0x52);
        Assert.False(_apic.HasPendingInterrupt); // same class as the one in service: waits
        Accept(0x61);
        Assert.Equal(0x61, _apic.AcknowledgeInterrupt()); // a higher class nests

        _apic.Set(Eoi, 0); // ends 61h
        _apic.Set(Eoi, 0); // ends 51h
        Assert.Equal(0x52, _apic.AcknowledgeInterrupt());
        _apic.Set(Eoi, 0);
        Assert.Equal(0x31, _apic.AcknowledgeInterrupt());
        _apic.Set(Eoi, 0);
        Assert.False(_apic.HasPendingInterrupt);
    }

    [Theory]
    [InlineData(0x40, -1, 0x40)] // TPR only
    [InlineData(0x45, 0x31, 0x45)] // TPR class 4 >= ISR class 3: PPR = TPR
    [InlineData(0x20, 0x51, 0x50)] // ISR class above: PPR = ISRV[7:4], low nibble 0
    [InlineData(0x5F, 0x51, 0x5F)] // equal classes: TPR wins
    public void Processor_priority_follows_sdm_10_8_3_1(int tpr, int inService, int expected)
    {
        _apic.Set(Svr, Enabled | 0xFF);
        if (inService >= 0)
        {
            Accept((byte)inService);
            Assert.Equal(inService, _apic.AcknowledgeInterrupt());
        }

        _apic.Set(Tpr, (uint)tpr);
        Assert.Equal((uint)expected, _apic.Get(Ppr));
    }

    [Fact]
    public void Task_priority_holds_back_vectors_of_its_class_and_below()
    {
        _apic.Set(Svr, Enabled | 0xFF);
        _apic.Set(Tpr, 0x50);
        Accept(0x5F);
        Assert.False(_apic.HasPendingInterrupt);
        Assert.Equal(0xFFu, (uint)_apic.AcknowledgeInterrupt()); // nothing deliverable: the spurious vector, no ISR bit
        Assert.Equal(1, _apic.SpuriousInterruptCount);
        Assert.Equal(0x50u, _apic.Get(Apr)); // TPR class 5 >= IRR class 5 and > ISR class 0: APR = TPR
        _apic.Set(Tpr, 0x40);
        Assert.True(_apic.HasPendingInterrupt);
        Assert.Equal(0x5F, _apic.AcknowledgeInterrupt());
    }

    [Fact]
    public void Eoi_of_a_level_triggered_vector_is_broadcast_and_of_an_edge_one_is_not()
    {
        _apic.Set(Svr, Enabled | 0xFF);
        Assert.True(_apic.DeliverInterrupt(ApicDeliveryMode.Fixed, 0x41, levelTriggered: true, logicalDestination: false, destination: 0));
        Assert.Equal(1u << 1, _apic.Get(Tmr + 0x20));
        Assert.Equal(1u << 1, _apic.Get(Irr + 0x20));
        Assert.Equal(0x41, _apic.AcknowledgeInterrupt());
        Assert.Equal(1u << 1, _apic.Get(Isr + 0x20));
        _apic.Set(Eoi, 0);
        Assert.Equal([0x41], _eois);
        Assert.Equal(0u, _apic.Get(Isr + 0x20));

        Accept(0x42);
        Assert.Equal(0x42, _apic.AcknowledgeInterrupt());
        _apic.Set(Eoi, 0);
        Assert.Single(_eois);
    }

    [Fact]
    public void Error_status_is_written_before_it_is_read()
    {
        _apic.Set(Svr, Enabled | 0xFF);
        Accept(0x05); // illegal vector: received illegal vector (bit 6)
        Assert.Equal(0u, _apic.Get(Esr)); // not visible until the next write
        _apic.Set(Esr, 0);
        Assert.Equal(0x40u, _apic.Get(Esr));
        Assert.Equal(0u, _apic.Get(Irr));
        _apic.Set(Esr, 0);
        Assert.Equal(0u, _apic.Get(Esr)); // nothing new since the previous write
        _ = _apic.Get(0x040); // reserved register: illegal register address (bit 7)
        _apic.Set(Esr, 0);
        Assert.Equal(0x80u, _apic.Get(Esr));
    }

    [Fact]
    public void An_error_raises_the_error_lvt_interrupt()
    {
        _apic.Set(Svr, Enabled | 0xFF);
        _apic.Set(LvtError, 0xFE);
        _apic.Set(IcrLow, 0x4_0003); // self IPI with illegal vector 3: send illegal vector
        Assert.Equal(0xFE, _apic.AcknowledgeInterrupt());
        _apic.Set(Esr, 0);
        Assert.Equal(0x20u, _apic.Get(Esr));
    }

    [Fact]
    public void Software_disable_masks_every_lvt_entry_and_keeps_them_masked()
    {
        _apic.Set(Svr, Enabled | 0xFF);
        _apic.Set(LvtTimer, 0x30);
        Assert.Equal(0x30u, _apic.Get(LvtTimer));
        _apic.Set(Svr, 0xFF);
        Assert.Equal(Masked | 0x30, _apic.Get(LvtTimer));
        _apic.Set(LvtTimer, 0x31);
        Assert.Equal(Masked | 0x31, _apic.Get(LvtTimer));
    }

    [Fact]
    public void One_shot_timer_counts_down_and_interrupts_once()
    {
        _apic.Set(Svr, Enabled | 0xFF);
        _apic.Set(DivideConfig, 0x3); // divide by 16
        _apic.Set(LvtTimer, 0x40);
        _apic.Set(InitialCount, 100);
        _clock.Advance(16 * 25);
        Assert.Equal(75u, _apic.Get(CurrentCount));
        _clock.Advance((16 * 75) - 1);
        Assert.False(_apic.HasPendingInterrupt);
        _clock.Advance(1);
        Assert.Equal(0x40, _apic.AcknowledgeInterrupt());
        Assert.Equal(0u, _apic.Get(CurrentCount));
        _apic.Set(Eoi, 0);
        _clock.Advance(100_000);
        Assert.False(_apic.HasPendingInterrupt);
    }

    [Fact]
    public void Periodic_timer_reloads_from_the_initial_count()
    {
        _apic.Set(Svr, Enabled | 0xFF);
        _apic.Set(DivideConfig, DivideBy1);
        _apic.Set(LvtTimer, Periodic | 0x40);
        _apic.Set(InitialCount, 1000);
        int interrupts = 0;
        for (int step = 0; step < 35; step++)
        {
            _clock.Advance(100);
            if (_apic.HasPendingInterrupt)
            {
                Assert.Equal(0x40, _apic.AcknowledgeInterrupt());
                _apic.Set(Eoi, 0);
                interrupts++;
            }
        }

        Assert.Equal(3, interrupts); // 3500 ns at 1000 ns a period
        Assert.Equal(500u, _apic.Get(CurrentCount));
        _apic.Set(InitialCount, 0); // stops it
        _clock.Advance(10_000);
        Assert.False(_apic.HasPendingInterrupt);
    }

    [Theory]
    [InlineData(0x0u, 2)]
    [InlineData(0x1u, 4)]
    [InlineData(0x2u, 8)]
    [InlineData(0x3u, 16)]
    [InlineData(0x8u, 32)]
    [InlineData(0x9u, 64)]
    [InlineData(0xAu, 128)]
    [InlineData(0xBu, 1)]
    public void Divide_configuration_selects_the_divisor(uint config, int divisor)
    {
        // SDM Figure 10-10: bits 3, 1, 0 encode 2, 4, 8, 16, 32, 64, 128, 1.
        _apic.Set(DivideConfig, config);
        _apic.Set(InitialCount, 1_000_000);
        _clock.Advance(divisor * 1000L);
        Assert.Equal(1_000_000u - 1000, _apic.Get(CurrentCount));
    }

    [Fact]
    public void Masked_timer_counts_without_interrupting()
    {
        _apic.Set(Svr, Enabled | 0xFF);
        _apic.Set(DivideConfig, DivideBy1);
        _apic.Set(LvtTimer, Masked | 0x40);
        _apic.Set(InitialCount, 100);
        _clock.Advance(50);
        Assert.Equal(50u, _apic.Get(CurrentCount));
        _clock.Advance(100);
        Assert.False(_apic.HasPendingInterrupt);
    }

    [Fact]
    public void Tsc_deadline_fires_when_the_tsc_reaches_it_and_clears_the_msr()
    {
        _apic.Set(Svr, Enabled | 0xFF);
        _apic.WriteTscDeadline(5000, 0); // ignored outside TSC-deadline mode
        Assert.Equal(0UL, _apic.ReadTscDeadline());
        _apic.Set(LvtTimer, TscDeadline | 0x48);
        _apic.Set(InitialCount, 10); // ignored in TSC-deadline mode
        Assert.Equal(0u, _apic.Get(InitialCount));

        // The TSC is 1000 ticks ahead of guest time here: the deadline 3000 falls at guest time 2000.
        _apic.WriteTscDeadline(3000, 1000);
        Assert.Equal(3000UL, _apic.ReadTscDeadline());
        _clock.Advance(1999);
        Assert.False(_apic.HasPendingInterrupt);
        _clock.Advance(1);
        Assert.Equal(0x48, _apic.AcknowledgeInterrupt());
        Assert.Equal(0UL, _apic.ReadTscDeadline());

        _apic.WriteTscDeadline(100, 500); // already passed: at once
        _clock.RunDue();
        _apic.Set(Eoi, 0);
        Assert.Equal(0x48, _apic.AcknowledgeInterrupt());

        _apic.WriteTscDeadline(10_000, 0);
        _apic.Set(LvtTimer, 0x48); // leaving TSC-deadline mode disarms
        _clock.Advance(20_000);
        _apic.Set(Eoi, 0);
        Assert.False(_apic.HasPendingInterrupt);
    }

    [Fact]
    public void Icr_delivers_fixed_ipis_to_this_processor_only()
    {
        _apic.Set(Svr, Enabled | 0xFF);
        _apic.Set(IcrLow, 0x4_0050); // shorthand self
        Assert.Equal(0x50, _apic.AcknowledgeInterrupt());
        _apic.Set(IcrLow, 0xC_0051); // all excluding self: nobody
        _apic.Set(IcrHigh, 0x0100_0000);
        _apic.Set(IcrLow, 0x0052); // physical destination 1: not us
        Assert.Equal(0u, _apic.Get(Irr + 0x20) & (1u << 0x12));
        _apic.Set(IcrHigh, 0);
        _apic.Set(IcrLow, 0x0053); // physical destination 0: us
        _apic.Set(IcrLow, 0x8_0054); // all including self
        Assert.Equal(0x18u << 16, _apic.Get(Irr + 0x20)); // vectors 53h and 54h
        Assert.Equal(0x0054u, _apic.Get(IcrLow) & 0xFFFF); // delivery status (bit 12) idle
        _apic.Set(IcrLow, 0x4_0400); // NMI to self
        Assert.Equal(1, _nmis);
    }

    [Theory]
    [InlineData(0xFFFF_FFFFu, 0x0200_0000u, 0x02, true)] // flat: bit 1 of the set
    [InlineData(0xFFFF_FFFFu, 0x0200_0000u, 0x05, false)]
    [InlineData(0x0FFF_FFFFu, 0x2100_0000u, 0x23, true)] // cluster 2, member bit 0
    [InlineData(0x0FFF_FFFFu, 0x2100_0000u, 0x31, false)] // another cluster
    [InlineData(0x0FFF_FFFFu, 0x2100_0000u, 0xFF, true)] // broadcast
    public void Logical_destinations_follow_the_dfr_model(uint dfr, uint ldr, byte destination, bool accepted)
    {
        _apic.Set(Dfr, dfr);
        _apic.Set(Ldr, ldr);
        Assert.Equal(accepted, _apic.DeliverInterrupt(ApicDeliveryMode.Fixed, 0x40, false, logicalDestination: true, destination));
    }

    [Fact]
    public void Extint_message_fetches_the_vector_from_the_pic()
    {
        _apic.Set(Svr, Enabled | 0xFF);
        _pic.Vector = 0x08;
        _pic.IsInterruptRequested = true;
        Assert.True(_apic.DeliverInterrupt(ApicDeliveryMode.ExtInt, 0, false, false, 0));
        Assert.True(_apic.HasPendingInterrupt);
        Assert.Equal(0x08, _apic.AcknowledgeInterrupt());
        Assert.False(_apic.HasPendingInterrupt);
    }

    private void Accept(byte vector) => _apic.DeliverInterrupt(ApicDeliveryMode.Fixed, vector, levelTriggered: false, logicalDestination: false, destination: 0);

    private sealed class EoiRecorder(List<byte> eois) : IEndOfInterruptListener
    {
        public void OnEndOfInterrupt(byte vector) => eois.Add(vector);
    }
}
