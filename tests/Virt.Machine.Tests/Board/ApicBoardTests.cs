using System.Globalization;
using Virt.Cpu;
using Virt.Devices;
using Microsoft.Extensions.Logging;
using Virt.Machine.Tests.Running;
using Virt.Memory;
using Xunit;

namespace Virt.Machine.Tests.Board;

/// <summary>The board with <see cref="MachineBuilder.WithApic"/> and <see cref="MachineBuilder.WithHpet"/>, driven by small guests.</summary>
public sealed class ApicBoardTests
{
    private const long Budget = 50_000_000;

    [Fact]
    public void Lapic_timer_and_the_pit_through_io_apic_pin_2_interrupt_and_are_ended_by_eoi()
    {
        const int lapicInterrupts = 20;
        const uint lapicInitialCount = 500_000; // 0.5 ms at the 1 GHz APIC bus clock, divide by 1
        const ushort pitCount = 1193; // about 1 ms at 1.193182 MHz
        using Machine machine = ApicGuests.Builder(ApicGuests.LapicTimerAndIoApic(lapicInterrupts, lapicInitialCount, pitCount)).WithApic().Build();
        long start = machine.Clock.NowNanoseconds;
        MachineStopReason stop = machine.Run(maxInstructions: Budget);
        Assert.Equal(MachineStopKind.HaltedForGood, stop.Kind);

        (uint lapic, uint pit, uint eois) = ParseCounts(machine.GetSerialCapture(0).GetText());
        Assert.Equal((uint)lapicInterrupts, lapic);

        // The PIT ran for about as long as the 20 LAPIC periods (10 ms), at about 1 ms a period.
        long elapsed = machine.Clock.NowNanoseconds - start;
        Assert.InRange(elapsed, lapicInterrupts * (long)lapicInitialCount, (lapicInterrupts + 1) * (long)lapicInitialCount);
        long pitPeriod = Pit8254.TimeOfTick(pitCount);
        Assert.InRange(pit, (uint)((lapicInterrupts * (long)lapicInitialCount / pitPeriod) - 1), (uint)((lapicInterrupts * (long)lapicInitialCount / pitPeriod) + 1));
        Assert.Equal(lapic + pit, eois);

        var apic = machine.FindDevice<LocalApic>()!;
        Assert.Equal(0, apic.SpuriousInterruptCount);
        Assert.Equal(0, (int)machine.Pic.SaveState().Master.Isr); // nothing went through the 8259A
        Assert.Equal(0x1_0000UL, machine.FindDevice<IoApic>()!.GetRedirectionEntry(2)); // masked again by the guest at its end
    }

    [Fact]
    public void Hpet_legacy_replacement_takes_irq0_from_the_pit()
    {
        const int interrupts = 10;
        const uint period = 200_000; // 2 ms at 100 MHz; the PIT runs at 1 ms meanwhile
        using Machine machine = ApicGuests.Builder(ApicGuests.HpetLegacyReplacement(interrupts, period)).WithApic().WithHpet().Build();
        long start = machine.Clock.NowNanoseconds;
        MachineStopReason stop = machine.Run(maxInstructions: Budget);
        Assert.Equal(MachineStopKind.HaltedForGood, stop.Kind);

        string text = machine.GetSerialCapture(0).GetText();
        Assert.Matches("^H=[0-9A-F]{8} C=[0-9A-F]{8}\n$", text);
        Assert.Equal((uint)interrupts, Hex(text, "H="));
        uint counter = Hex(text, "C=");
        Assert.InRange(counter, interrupts * period, (interrupts + 1) * period);

        // Ten interrupts took ten HPET periods (20 ms), not ten PIT periods (10 ms).
        Assert.InRange(machine.Clock.NowNanoseconds - start, interrupts * period * 10L, (interrupts + 1) * period * 10L);
        Assert.False(machine.FindDevice<Hpet>()!.LegacyReplacementEnabled);
    }

    [Fact]
    public void Without_apic_the_board_and_cpuid_are_as_before()
    {
        using Machine plain = ApicGuests.Builder([0xF4]).Build();
        Assert.Null(plain.FindDevice<LocalApic>());
        Assert.Null(plain.Memory.FindRegion(new PhysicalAddress(LocalApic.DefaultBaseAddress)));
        Assert.False(plain.Cpu.TryReadMsr(LocalApic.ApicBaseMsrIndex, out _));

        using Machine apic = ApicGuests.Builder([0xF4]).WithApic().Build();
        Assert.True(apic.Cpu.TryReadMsr(LocalApic.ApicBaseMsrIndex, out ulong baseMsr));
        Assert.Equal(0xFEE0_0900UL, baseMsr);
        Assert.NotNull(apic.Memory.FindRegion(new PhysicalAddress(IoApic.DefaultBaseAddress)));
        Assert.Null(apic.Memory.FindRegion(new PhysicalAddress(Hpet.DefaultBaseAddress)));
    }

    [Fact]
    public void Cpuid_reports_the_apic_and_tsc_deadline_only_with_the_apic()
    {
        var sse2 = new CpuOptions { Cpuid = new CpuidModel { FeaturesEdx = CpuidModel.DefaultFeaturesEdx | ApicBoard.Sse2FeatureEdx } };
        Assert.Equal((0u, 0u), CpuidLeaf1Bits(new MachineBuilder().WithBoard(MachineBoard.IsaPc).WithMemorySize(16UL << 20).WithCpu(sse2)));
        Assert.Equal((CpuidModel.ApicFeatureEdx, CpuidModel.TscDeadlineFeatureEcx), CpuidLeaf1Bits(new MachineBuilder().WithMemorySize(16UL << 20).WithCpu(sse2).WithApic()));
    }

    [Fact]
    public void Cpuid_leaves_out_tsc_deadline_for_a_model_without_sse2()
    {
        // Linux fences the switch to TSC-deadline mode with MFENCE, which is #UD without SSE2: the 32-bit P6 model has none.
        Assert.Equal(0u, CpuidModel.P6FeaturesEdx & ApicBoard.Sse2FeatureEdx);
        Assert.Equal((CpuidModel.ApicFeatureEdx, 0u),
            CpuidLeaf1Bits(new MachineBuilder().WithMemorySize(16UL << 20).WithCpu(new CpuOptions { Cpuid = CpuidModel.P6 }).WithApic()));
    }

    [Fact]
    public void Apic_base_msr_moves_and_disables_the_window()
    {
        using Machine machine = ApicGuests.Builder([0xF4]).WithApic().Build();
        Assert.True(machine.Cpu.TryWriteMsr(LocalApic.ApicBaseMsrIndex, 0xFEF0_0800));
        Assert.Equal(0x0005_0014UL, machine.Memory.Read(new PhysicalAddress(0xFEF0_0030), 4));
        Assert.Null(machine.Memory.FindRegion(new PhysicalAddress(LocalApic.DefaultBaseAddress)));
        Assert.True(machine.Cpu.TryWriteMsr(LocalApic.ApicBaseMsrIndex, 0xFEF0_0000));
        Assert.Null(machine.Memory.FindRegion(new PhysicalAddress(0xFEF0_0000)));
        Assert.False(machine.Cpu.TryWriteMsr(LocalApic.ApicBaseMsrIndex, 0xFEE0_0C00)); // x2APIC: #GP
        machine.Reset();
        Assert.Equal(0x0005_0014UL, machine.Memory.Read(new PhysicalAddress(LocalApic.DefaultBaseAddress + 0x30), 4));
    }

    [Fact]
    public void The_apic_devices_are_part_of_the_snapshot()
    {
        using Machine machine = ApicGuests.Builder(ApicGuests.LapicTimerAndIoApic(5, 100_000, 1193)).WithApic().WithHpet().Build();
        machine.Run(maxInstructions: 20_000);
        MachineState state = machine.SaveState();
        Assert.IsType<LocalApicState>(state.Devices["LAPIC"]);
        Assert.IsType<IoApicState>(state.Devices["IOAPIC"]);
        Assert.IsType<HpetState>(state.Devices["HPET"]);
        using var snapshot = new MemoryStream();
        machine.SaveSnapshot(snapshot);
        string atSave = machine.GetSerialCapture(0).GetText();
        Assert.Equal(MachineStopKind.HaltedForGood, machine.Run(maxInstructions: Budget).Kind);
        string first = machine.GetSerialCapture(0).GetText();
        Assert.NotEqual(atSave, first);

        // The capture is not part of the state: the rerun appends the same output again.
        snapshot.Position = 0;
        machine.RestoreSnapshot(snapshot);
        Assert.Equal(MachineStopKind.HaltedForGood, machine.Run(maxInstructions: Budget).Kind);
        Assert.Equal(first[atSave.Length..], machine.GetSerialCapture(0).GetText()[first.Length..]);
    }

    [Fact]
    public void Apic_trace_shows_register_writes_messages_and_eois()
    {
        var logs = new CapturingLoggerFactory();
        using Machine machine = ApicGuests.Builder(ApicGuests.LapicTimerAndIoApic(3, 500_000, 1193))
            .WithApic()
            .WithLoggerFactory(logs)
            .WithTrace(MachineTraceEvents.Apic)
            .Build();
        Assert.Equal(MachineStopKind.HaltedForGood, machine.Run(maxInstructions: Budget).Kind);
        string[] trace = [.. logs.Messages(MachineLogCategories.TraceApic, LogLevel.Trace)];
        Assert.Contains("LAPIC write SVR = 0x1FF", trace);
        Assert.Contains("LAPIC write LVT timer = 0x20040", trace);
        Assert.Contains("IOAPIC write redirection 2 low = 0x30", trace);
        Assert.Contains(trace, t => t.StartsWith("IOAPIC pin 2 -> Fixed vector 30h edge to physical 00h, accepted", StringComparison.Ordinal));
        Assert.Contains("LAPIC vector 40h delivered to the CPU (IRR -> ISR)", trace);
        Assert.Equal(3, trace.Count(t => t == "LAPIC EOI of vector 40h"));

        using Machine untraced = ApicGuests.Builder([0xF4]).WithApic().WithLoggerFactory(logs).Build();
        int before = logs.Entries.Count(e => e.Category == MachineLogCategories.TraceApic);
        untraced.Cpu.TryWriteMsr(LocalApic.ApicBaseMsrIndex, 0xFEE0_0800);
        Assert.Equal(before, logs.Entries.Count(e => e.Category == MachineLogCategories.TraceApic));
    }

    private static (uint Edx, uint Ecx) CpuidLeaf1Bits(MachineBuilder builder)
    {
        // CPUID leaf 1 at 7C00h, then HLT; EDX and ECX keep the feature flags.
        byte[] code = [0xB8, 0x01, 0x00, 0x00, 0x00, 0x0F, 0xA2, 0xF4];
        using Machine machine = builder
            .WithFlatBinary(code, new PhysicalAddress(0x10_0000), Virt.Machine.Boot.BootEntryState.FlatProtectedMode(0x10_0000, "cpuid"))
            .Build();
        machine.Run(maxInstructions: 100);
        uint edx = (uint)machine.Cpu.GetRegister(GeneralRegister.Rdx);
        uint ecx = (uint)machine.Cpu.GetRegister(GeneralRegister.Rcx);
        return (edx & CpuidModel.ApicFeatureEdx, ecx & CpuidModel.TscDeadlineFeatureEcx);
    }

    private static (uint Lapic, uint Pit, uint Eois) ParseCounts(string text)
    {
        Assert.Matches("^L=[0-9A-F]{8} P=[0-9A-F]{8} E=[0-9A-F]{8}\n$", text);
        return (Hex(text, "L="), Hex(text, "P="), Hex(text, "E="));
    }

    private static uint Hex(string text, string label)
    {
        int at = text.IndexOf(label, StringComparison.Ordinal) + label.Length;
        return uint.Parse(text.AsSpan(at, 8), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
    }
}
