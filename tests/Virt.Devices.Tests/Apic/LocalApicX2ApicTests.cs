using Virt.Devices;
using Virt.Devices.Tests.Fakes;
using Xunit;

namespace Virt.Devices.Tests.Apic;

/// <summary>x2APIC mode against Intel SDM Vol. 3A, 11.12 (Table 11-6: the MSR address of each register; 11.12.5: the mode transitions).</summary>
public sealed class LocalApicX2ApicTests
{
    private const ulong XApicMode = 0xFEE0_0900; // EN, BSP
    private const ulong X2ApicMode = 0xFEE0_0D00; // EN, EXTD, BSP
    private const ulong Disabled = 0xFEE0_0100; // BSP only
    private const ulong InvalidExtdWithoutEn = 0xFEE0_0500;

    private const uint IdMsr = 0x802;
    private const uint VersionMsr = 0x803;
    private const uint TprMsr = 0x808;
    private const uint AprMsr = 0x809;
    private const uint PprMsr = 0x80A;
    private const uint EoiMsr = 0x80B;
    private const uint LdrMsr = 0x80D;
    private const uint DfrMsr = 0x80E;
    private const uint SvrMsr = 0x80F;
    private const uint IsrMsr = 0x810;
    private const uint IrrMsr = 0x820;
    private const uint EsrMsr = 0x828;
    private const uint IcrMsr = 0x830;
    private const uint IcrHighMsr = 0x831;
    private const uint LvtTimerMsr = 0x832;
    private const uint LvtErrorMsr = 0x837;
    private const uint InitialCountMsr = 0x838;
    private const uint CurrentCountMsr = 0x839;
    private const uint DivideMsr = 0x83E;
    private const uint SelfIpiMsr = 0x83F;

    private readonly ManualClock _clock = new();

    private LocalApic Create(byte id = 0, bool supported = true) => new(_clock, new LocalApicOptions { ApicId = id, X2ApicSupported = supported });

    private LocalApic CreateInX2ApicMode(byte id = 0)
    {
        LocalApic apic = Create(id);
        Assert.True(apic.TryWriteApicBaseMsr(X2ApicMode));
        Assert.True(apic.TryWriteX2ApicMsr(SvrMsr, 0x1FF));
        return apic;
    }

    private static ulong Read(LocalApic apic, uint msr)
    {
        Assert.True(apic.TryReadX2ApicMsr(msr, out ulong value), $"RDMSR {msr:X}h raised #GP");
        return value;
    }

    [Fact]
    public void Without_support_the_extd_bit_is_refused()
    {
        LocalApic apic = Create(supported: false);
        Assert.False(apic.TryWriteApicBaseMsr(X2ApicMode));
        Assert.Equal(XApicMode, apic.ApicBaseMsr);
    }

    [Fact]
    public void State_transitions_follow_sdm_figure_11_28()
    {
        LocalApic apic = Create();

        // EN=0, EXTD=1 is the invalid state: never reachable.
        Assert.False(apic.TryWriteApicBaseMsr(InvalidExtdWithoutEn));

        // xAPIC -> x2APIC.
        Assert.True(apic.TryWriteApicBaseMsr(X2ApicMode));
        Assert.True(apic.IsX2ApicMode);
        Assert.False(apic.IsMmioDecoded);

        // x2APIC -> xAPIC: invalid. x2APIC -> EN=0, EXTD=1: invalid.
        Assert.False(apic.TryWriteApicBaseMsr(XApicMode));
        Assert.False(apic.TryWriteApicBaseMsr(InvalidExtdWithoutEn));
        Assert.Equal(X2ApicMode, apic.ApicBaseMsr);

        // x2APIC -> disabled.
        Assert.True(apic.TryWriteApicBaseMsr(Disabled));
        Assert.False(apic.IsX2ApicMode);

        // disabled -> x2APIC: invalid; disabled -> xAPIC, then x2APIC again: valid.
        Assert.False(apic.TryWriteApicBaseMsr(X2ApicMode));
        Assert.True(apic.TryWriteApicBaseMsr(XApicMode));
        Assert.True(apic.IsMmioDecoded);
        Assert.True(apic.TryWriteApicBaseMsr(X2ApicMode));
    }

    [Fact]
    public void Msrs_raise_gp_outside_x2apic_mode_and_the_mmio_window_is_dead_inside_it()
    {
        LocalApic apic = Create();
        Assert.False(apic.TryReadX2ApicMsr(VersionMsr, out _)); // xAPIC mode: #GP
        Assert.False(apic.TryWriteX2ApicMsr(TprMsr, 0x20));
        Assert.Equal(LocalApic.VersionRegisterValue, apic.Get(0x30));

        Assert.True(apic.TryWriteApicBaseMsr(X2ApicMode));
        Assert.Equal(LocalApic.VersionRegisterValue, Read(apic, VersionMsr));
        Assert.Equal(0u, apic.Get(0x30)); // MMIO not decoded (SDM 11.12.1.2)
        apic.Set(0x80, 0x50);
        Assert.Equal(0UL, Read(apic, TprMsr));
    }

    [Fact]
    public void Id_is_32_bits_and_the_logical_id_is_derived_and_read_only()
    {
        // SDM 11.12.10.2: logical x2APIC ID = (ID[19:4] << 16) | (1 << ID[3:0]); ID 23h: cluster 2, member bit 3.
        LocalApic apic = CreateInX2ApicMode(id: 0x23);
        Assert.Equal(0x23UL, Read(apic, IdMsr));
        Assert.Equal(0x0002_0008UL, Read(apic, LdrMsr));
        Assert.False(apic.TryWriteX2ApicMsr(IdMsr, 0x5));
        Assert.False(apic.TryWriteX2ApicMsr(LdrMsr, 0x1));
        Assert.Equal(0x0002_0008UL, Read(apic, LdrMsr));
    }

    [Theory]
    [InlineData(VersionMsr)]
    [InlineData(PprMsr)]
    [InlineData(IsrMsr)]
    [InlineData(IrrMsr + 7)]
    [InlineData(CurrentCountMsr)]
    public void Writes_to_read_only_registers_raise_gp(uint msr)
    {
        LocalApic apic = CreateInX2ApicMode();
        Assert.False(apic.TryWriteX2ApicMsr(msr, 0));
        Assert.True(apic.GuestMisuseCount > 0);
    }

    [Theory]
    [InlineData(0x800u)]
    [InlineData(0x801u)]
    [InlineData(AprMsr)] // APR and RRD do not exist in x2APIC mode
    [InlineData(0x80Cu)]
    [InlineData(DfrMsr)] // DFR is xAPIC only
    [InlineData(0x82Fu)] // CMCI: not in this APIC's LVT (version register: max LVT entry 5)
    [InlineData(IcrHighMsr)] // the ICR is one MSR
    [InlineData(0x840u)]
    [InlineData(0x8FFu)]
    public void Reserved_msrs_raise_gp_on_read_and_write(uint msr)
    {
        LocalApic apic = CreateInX2ApicMode();
        Assert.False(apic.TryReadX2ApicMsr(msr, out _));
        Assert.False(apic.TryWriteX2ApicMsr(msr, 0));
    }

    [Fact]
    public void Eoi_and_self_ipi_are_write_only_and_eoi_takes_only_zero()
    {
        LocalApic apic = CreateInX2ApicMode();
        Assert.False(apic.TryReadX2ApicMsr(EoiMsr, out _));
        Assert.False(apic.TryReadX2ApicMsr(SelfIpiMsr, out _));

        // SELF IPI vector 41h: into the IRR, acknowledged into the ISR.
        Assert.True(apic.TryWriteX2ApicMsr(SelfIpiMsr, 0x41));
        Assert.Equal(1UL << 1, Read(apic, IrrMsr + 2)); // vector 41h: word 2, bit 1
        Assert.Equal(0x41, apic.AcknowledgeInterrupt());
        Assert.Equal(1UL << 1, Read(apic, IsrMsr + 2));

        // SDM Table 11-6: "WRMSR of a non-zero value causes #GP(0)".
        Assert.False(apic.TryWriteX2ApicMsr(EoiMsr, 1));
        Assert.Equal(1UL << 1, Read(apic, IsrMsr + 2));
        Assert.True(apic.TryWriteX2ApicMsr(EoiMsr, 0));
        Assert.Equal(0UL, Read(apic, IsrMsr + 2));

        // Reserved bits of SELF IPI, bits 63:32 of any register but the ICR.
        Assert.False(apic.TryWriteX2ApicMsr(SelfIpiMsr, 0x141));
        Assert.False(apic.TryWriteX2ApicMsr(TprMsr, 1UL << 32));
    }

    [Fact]
    public void Esr_takes_only_zero_and_latches_the_errors()
    {
        LocalApic apic = CreateInX2ApicMode();
        Assert.True(apic.TryWriteX2ApicMsr(SelfIpiMsr, 0x05)); // illegal vector: send illegal vector (bit 5)
        Assert.False(apic.TryWriteX2ApicMsr(EsrMsr, 1));
        Assert.True(apic.TryWriteX2ApicMsr(EsrMsr, 0));
        Assert.Equal(0x20UL, Read(apic, EsrMsr));
    }

    [Fact]
    public void Icr_is_one_64_bit_msr_with_a_32_bit_destination()
    {
        LocalApic apic = CreateInX2ApicMode(id: 0x23);

        // Physical destination 23h in bits 63:32, fixed, vector 50h: reaches this APIC.
        Assert.True(apic.TryWriteX2ApicMsr(IcrMsr, (0x23UL << 32) | 0x50));
        Assert.Equal((0x23UL << 32) | 0x50, Read(apic, IcrMsr));
        Assert.Equal(1UL << 16, Read(apic, IrrMsr + 2));

        // Physical destination 123h: not this APIC (an xAPIC would have compared only 8 bits).
        Assert.True(apic.TryWriteX2ApicMsr(IcrMsr, (0x123UL << 32) | 0x60));
        Assert.Equal(0UL, Read(apic, IrrMsr + 3));

        // Logical: cluster 2, member bit 3 reaches it; cluster 3 does not.
        Assert.True(apic.TryWriteX2ApicMsr(IcrMsr, (0x0002_0008UL << 32) | (1u << 11) | 0x70));
        Assert.True(apic.TryWriteX2ApicMsr(IcrMsr, (0x0003_0008UL << 32) | (1u << 11) | 0x71));
        Assert.Equal(1UL << 16, Read(apic, IrrMsr + 3));

        // Broadcast FFFFFFFFh.
        Assert.True(apic.TryWriteX2ApicMsr(IcrMsr, (0xFFFF_FFFFUL << 32) | 0x80));
        Assert.Equal(1UL, Read(apic, IrrMsr + 4));
    }

    [Fact]
    public void Timer_and_lvt_work_through_the_msrs()
    {
        LocalApic apic = CreateInX2ApicMode();
        Assert.True(apic.TryWriteX2ApicMsr(DivideMsr, 0xB)); // divide by 1
        Assert.True(apic.TryWriteX2ApicMsr(LvtTimerMsr, 0x40));
        Assert.True(apic.TryWriteX2ApicMsr(LvtErrorMsr, 0x1_00FE));
        Assert.True(apic.TryWriteX2ApicMsr(InitialCountMsr, 1000));
        Assert.Equal(0x40UL, Read(apic, LvtTimerMsr));
        Assert.Equal(0x1_00FEUL, Read(apic, LvtErrorMsr));
        _clock.Advance(400);
        Assert.Equal(600UL, Read(apic, CurrentCountMsr));
        _clock.Advance(600);
        Assert.True(apic.HasPendingInterrupt);
        Assert.Equal(0x40, apic.AcknowledgeInterrupt());

        // PPR follows the in-service vector 40h, then TPR 50h, which holds back a class-4 SELF IPI (SDM 11.8.3.1).
        Assert.Equal(0x40UL, Read(apic, PprMsr));
        Assert.True(apic.TryWriteX2ApicMsr(TprMsr, 0x50));
        Assert.Equal(0x50UL, Read(apic, PprMsr));
        Assert.True(apic.TryWriteX2ApicMsr(EoiMsr, 0));
        Assert.True(apic.TryWriteX2ApicMsr(SelfIpiMsr, 0x45));
        Assert.False(apic.HasPendingInterrupt);
        Assert.True(apic.TryWriteX2ApicMsr(TprMsr, 0));
        Assert.True(apic.HasPendingInterrupt);
    }

    [Fact]
    public void An_io_apic_message_reaches_an_x2apic_by_its_8_bit_destination()
    {
        LocalApic apic = CreateInX2ApicMode(id: 3);
        Assert.False(apic.DeliverInterrupt(ApicDeliveryMode.Fixed, 0x30, false, false, 0));
        Assert.True(apic.DeliverInterrupt(ApicDeliveryMode.Fixed, 0x30, false, false, 3));
        Assert.True(apic.DeliverInterrupt(ApicDeliveryMode.Fixed, 0x31, false, true, 0x08)); // logical cluster 0, member bit 3
        Assert.True(apic.DeliverInterrupt(ApicDeliveryMode.Fixed, 0x32, false, false, 0xFF));
        Assert.Equal(7UL << 16, Read(apic, IrrMsr + 1)); // vectors 30h-32h: word 1, bits 16-18
    }

    [Fact]
    public void Leaving_x2apic_mode_resets_the_registers_and_keeps_the_id()
    {
        LocalApic apic = CreateInX2ApicMode(id: 7);
        Assert.True(apic.TryWriteX2ApicMsr(TprMsr, 0x30));
        Assert.True(apic.TryWriteApicBaseMsr(Disabled));
        Assert.True(apic.TryWriteApicBaseMsr(XApicMode));
        Assert.Equal(0u, apic.Get(0x80));
        Assert.Equal(0xFFu, apic.Get(0xF0));
        Assert.Equal(7u << 24, apic.Get(0x20));
    }

    [Fact]
    public void Restore_refuses_x2apic_mode_without_support_or_without_the_enable()
    {
        LocalApic apic = CreateInX2ApicMode();
        LocalApicState state = apic.SaveState();
        Assert.Throws<ArgumentException>(() => Create(supported: false).RestoreState(state));
        Assert.Throws<ArgumentException>(() => Create().RestoreState(state with { ApicBaseMsr = InvalidExtdWithoutEn }));
        LocalApic copy = Create();
        copy.RestoreState(state);
        Assert.True(copy.IsX2ApicMode);
        Assert.Equal(state, copy.SaveState());
    }
}
