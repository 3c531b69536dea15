using Virt.Devices;
using Virt.Devices.Tests.Fakes;
using Virt.Memory;
using Xunit;

namespace Virt.Devices.Tests.Hpet;

/// <summary>The HPET against the IA-PC HPET specification 1.0a, section 2.3 (register offsets from Table 2).</summary>
public sealed class HpetTests
{
    private const ulong Capabilities = 0x000;
    private const ulong Configuration = 0x010;
    private const ulong Status = 0x020;
    private const ulong Counter = 0x0F0;
    private const ulong Enable = 1;
    private const ulong LegacyRoute = 2;
    private const ulong LevelTriggered = 1UL << 1;
    private const ulong InterruptEnable = 1UL << 2;
    private const ulong PeriodicMode = 1UL << 3;
    private const ulong ValueSet = 1UL << 6;
    private const ulong Mode32Bit = 1UL << 8;

    private readonly ManualClock _clock = new();
    private readonly RecordingInterruptLine[] _pins = [.. Enumerable.Range(0, 24).Select(_ => new RecordingInterruptLine())];
    private readonly RecordingInterruptLine _irq0 = new();
    private readonly RecordingInterruptLine _irq8 = new();
    private readonly List<bool> _legacyChanges = [];
    private readonly Devices.Hpet _hpet;

    public HpetTests()
    {
        _hpet = new Devices.Hpet(_clock, _pins, _irq0, _irq8) { LegacyReplacementChanged = _legacyChanges.Add };
    }

    private static ulong TimerConfig(int n) => 0x100 + (0x20 * (ulong)n);

    private static ulong Comparator(int n) => 0x108 + (0x20 * (ulong)n);

    [Fact]
    public void Capabilities_describe_three_64_bit_timers_at_100_mhz()
    {
        ulong caps = Read(Capabilities);
        Assert.Equal(0x01UL, caps & 0xFF); // revision
        Assert.Equal(2UL, (caps >> 8) & 0x1F); // NUM_TIM_CAP: timers - 1
        Assert.NotEqual(0UL, caps & (1UL << 13)); // 64-bit counter
        Assert.NotEqual(0UL, caps & (1UL << 15)); // legacy replacement capable
        Assert.Equal(0x8086UL, (caps >> 16) & 0xFFFF);
        Assert.Equal(10_000_000UL, caps >> 32); // 10 ns in femtoseconds
        Assert.Equal((uint)caps, (uint)_hpet.Read(new RegionOffset(0), 4));
        Assert.Equal((uint)(caps >> 32), (uint)_hpet.Read(new RegionOffset(4), 4));

        ulong timer = Read(TimerConfig(1));
        Assert.Equal(0x30UL, timer & 0x30); // periodic capable, 64-bit capable
        Assert.Equal(0x00F0_0000UL, timer >> 32); // routable to pins 20-23
        Assert.Equal(ulong.MaxValue, Read(Comparator(1)));
    }

    [Fact]
    public void Main_counter_runs_at_100_mhz_only_while_enabled()
    {
        _clock.Advance(1000);
        Assert.Equal(0UL, Read(Counter));
        Write(Configuration, Enable);
        _clock.Advance(1005);
        Assert.Equal(100UL, Read(Counter));
        Write(Configuration, 0);
        _clock.Advance(1000);
        Assert.Equal(100UL, Read(Counter));
        Write(Counter, 0xFFFF_FFF0);
        Write(Configuration, Enable);
        _clock.Advance(200);
        Assert.Equal(0x1_0000_0004UL, Read(Counter));
    }

    [Fact]
    public void One_shot_timer_interrupts_its_io_apic_pin_at_the_comparator()
    {
        Write(TimerConfig(2), InterruptEnable | (21UL << 9));
        Write(Comparator(2), 500);
        Write(Configuration, Enable);
        _clock.Advance(4990);
        Assert.Equal(0, _pins[21].RisingEdges);
        _clock.Advance(10);
        Assert.Equal(1, _pins[21].RisingEdges);
        _clock.Advance(1_000_000);
        Assert.Equal(1, _pins[21].RisingEdges);
        Assert.Equal(0UL, Read(Status)); // edge-triggered timers leave the status bit alone
    }

    [Fact]
    public void An_unsupported_route_is_not_taken()
    {
        Write(TimerConfig(0), 20UL << 9);
        Write(TimerConfig(0), 3UL << 9); // pin 3 is not in Tn_INT_ROUTE_CAP
        Assert.Equal(20UL, (Read(TimerConfig(0)) >> 9) & 0x1F);
    }

    [Fact]
    public void Periodic_timer_with_value_set_interrupts_every_period()
    {
        Write(Configuration, Enable);
        Write(TimerConfig(0), InterruptEnable | PeriodicMode | ValueSet | (20UL << 9));
        Write(Comparator(0), 100); // with Tn_VAL_SET_CNF: comparator and period
        Write(Comparator(0), 250); // without: the period only
        Assert.Equal(0UL, Read(TimerConfig(0)) & ValueSet); // cleared by the write
        Assert.Equal(100UL, Read(Comparator(0)));
        _clock.Advance(1000);
        Assert.Equal(1, _pins[20].RisingEdges);
        Assert.Equal(350UL, Read(Comparator(0)));
        _clock.Advance(2500 * 3);
        Assert.Equal(4, _pins[20].RisingEdges);
        Assert.Equal(1100UL, Read(Comparator(0)));
    }

    [Fact]
    public void Level_triggered_timer_holds_its_line_until_the_status_bit_is_cleared()
    {
        Write(TimerConfig(1), InterruptEnable | LevelTriggered | (22UL << 9));
        Write(Comparator(1), 10);
        Write(Configuration, Enable);
        _clock.Advance(100);
        Assert.True(_pins[22].IsAsserted);
        Assert.Equal(2UL, Read(Status));
        Write(Status, 1); // writing 0 to bit 1 changes nothing
        Assert.True(_pins[22].IsAsserted);
        Write(Status, 2);
        Assert.False(_pins[22].IsAsserted);
        Assert.Equal(0UL, Read(Status));
    }

    [Fact]
    public void Legacy_replacement_routes_timers_0_and_1_to_irq0_and_irq8()
    {
        Write(TimerConfig(0), InterruptEnable | PeriodicMode | ValueSet);
        Write(Comparator(0), 1000);
        Write(TimerConfig(1), InterruptEnable);
        Write(Comparator(1), 1500);
        Write(Configuration, Enable | LegacyRoute);
        Assert.Equal([true], _legacyChanges);
        _clock.Advance(30_000);
        Assert.Equal(3, _irq0.RisingEdges); // at 10, 20 and 30 µs
        Assert.Equal(1, _irq8.RisingEdges);
        Assert.All(_pins, p => Assert.Equal(0, p.RisingEdges));
        Write(Configuration, Enable);
        Assert.Equal([true, false], _legacyChanges);
        _hpet.Reset();
        Assert.Equal([true, false], _legacyChanges); // legacy was already off
    }

    [Fact]
    public void Thirty_two_bit_one_shot_timer_also_interrupts_when_the_counter_wraps()
    {
        Write(Counter, 0xFFFF_FF00);
        Write(TimerConfig(0), InterruptEnable | Mode32Bit | (20UL << 9));
        Write(Comparator(0), 0x1_0000_0080); // the high half is dropped in 32-bit mode
        Assert.Equal(0x80UL, Read(Comparator(0)));
        Write(Configuration, Enable);
        _clock.Advance(0x100 * 10);
        Assert.Equal(1, _pins[20].RisingEdges); // the wrap to 0
        _clock.Advance(0x80 * 10);
        Assert.Equal(2, _pins[20].RisingEdges); // the match
    }

    [Fact]
    public void Disabling_the_timer_interrupt_clears_a_level_interrupt()
    {
        Write(TimerConfig(0), InterruptEnable | LevelTriggered | (23UL << 9));
        Write(Comparator(0), 1);
        Write(Configuration, Enable);
        _clock.Advance(20);
        Assert.True(_pins[23].IsAsserted);
        Write(TimerConfig(0), LevelTriggered | (23UL << 9));
        Assert.False(_pins[23].IsAsserted);
        Assert.Equal(0UL, Read(Status));
    }

    [Fact]
    public void A_period_past_the_counter_wrap_interrupts_once_and_stops()
    {
        Write(Configuration, Enable);
        Write(TimerConfig(0), InterruptEnable | PeriodicMode | ValueSet | (20UL << 9));
        Write(Comparator(0), 100);
        Write(Comparator(0), ulong.MaxValue); // the period: the next match would be past 2^64
        _clock.Advance(10_000);
        Assert.Equal(1, _pins[20].RisingEdges);
        Assert.Equal(long.MaxValue, _clock.NextDeadline);
    }

    private ulong Read(ulong offset) => _hpet.Read(new RegionOffset(offset), 8);

    private void Write(ulong offset, ulong value) => _hpet.Write(new RegionOffset(offset), 8, value);
}
