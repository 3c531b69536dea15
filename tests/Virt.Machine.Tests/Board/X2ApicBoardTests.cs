using Virt.Cpu;
using Virt.Devices;
using Virt.Memory;
using Xunit;

namespace Virt.Machine.Tests.Board;

/// <summary>x2APIC on the board: CPUID.1:ECX bit 21 from the CPU model, the MSRs through RDMSR/WRMSR, the window switched off.</summary>
public sealed class X2ApicBoardTests
{
    private const long Budget = 50_000_000;

    private static CpuOptions X2ApicModel => new() { Cpuid = CpuidModel.Default with { FeaturesEcx = CpuidModel.Default.FeaturesEcx | CpuidModel.X2ApicFeatureEcx } };

    [Fact]
    public void A_guest_runs_the_timer_the_io_apic_and_a_self_ipi_in_x2apic_mode()
    {
        const int lapicInterrupts = 10;
        using Machine machine = ApicGuests.Builder(ApicGuests.X2ApicTimerAndIoApic(lapicInterrupts, 500_000, 1193))
            .WithCpu(X2ApicModel).WithApic().Build();
        Assert.Equal(MachineStopKind.HaltedForGood, machine.Run(maxInstructions: Budget).Kind);
        string text = machine.GetSerialCapture(0).GetText();
        Assert.Matches("^L=[0-9A-F]{8} P=[0-9A-F]{8} E=[0-9A-F]{8} S=00000001\n$", text);
        uint lapic = Hex(text, "L=");
        uint pit = Hex(text, "P=");
        Assert.Equal((uint)lapicInterrupts, lapic);
        Assert.InRange(pit, 3u, 6u); // 5 ms of PIT periods of about 1 ms
        Assert.Equal(lapic + pit + 1, Hex(text, "E="));

        var apic = machine.FindDevice<LocalApic>()!;
        Assert.True(apic.IsX2ApicMode);
        Assert.Null(machine.Memory.FindRegion(new PhysicalAddress(LocalApic.DefaultBaseAddress))); // MMIO off (SDM 11.12.1.2)
        Assert.True(machine.Cpu.TryReadMsr(0x803, out ulong version));
        Assert.Equal(LocalApic.VersionRegisterValue, (uint)version);
        Assert.False(machine.Cpu.TryWriteMsr(0x80B, 1)); // non-zero EOI: #GP
        Assert.False(machine.Cpu.TryWriteMsr(LocalApic.ApicBaseMsrIndex, 0xFEE0_0900)); // x2APIC -> xAPIC: #GP

        // Disabled, then xAPIC: the window is back.
        Assert.True(machine.Cpu.TryWriteMsr(LocalApic.ApicBaseMsrIndex, 0xFEE0_0100));
        Assert.True(machine.Cpu.TryWriteMsr(LocalApic.ApicBaseMsrIndex, 0xFEE0_0900));
        Assert.Equal(LocalApic.VersionRegisterValue, (uint)machine.Memory.Read(new PhysicalAddress(LocalApic.DefaultBaseAddress + 0x30), 4));
    }

    [Fact]
    public void Cpuid_reports_x2apic_only_where_the_model_does_and_an_apic_exists()
    {
        Assert.Equal(CpuidModel.X2ApicFeatureEcx, CpuidLeaf1Ecx(new MachineBuilder().WithCpu(X2ApicModel).WithApic()) & CpuidModel.X2ApicFeatureEcx);
        Assert.Equal(0u, CpuidLeaf1Ecx(new MachineBuilder().WithBoard(MachineBoard.IsaPc).WithCpu(X2ApicModel)) & CpuidModel.X2ApicFeatureEcx);
        Assert.Equal(CpuidModel.Default.FeaturesEcx & CpuidModel.X2ApicFeatureEcx, CpuidLeaf1Ecx(new MachineBuilder().WithApic()) & CpuidModel.X2ApicFeatureEcx);

        // Without the model bit the APIC refuses EXTD and the MSRs stay #GP.
        using Machine plain = ApicGuests.Builder([0xF4]).WithCpu(new CpuOptions { Cpuid = CpuidModel.P6 }).WithApic().Build();
        Assert.False(plain.Cpu.TryWriteMsr(LocalApic.ApicBaseMsrIndex, 0xFEE0_0D00));
        Assert.False(plain.Cpu.TryReadMsr(0x803, out _));
    }

    private static uint CpuidLeaf1Ecx(MachineBuilder builder)
    {
        byte[] code = [0xB8, 0x01, 0x00, 0x00, 0x00, 0x0F, 0xA2, 0xF4];
        using Machine machine = builder
            .WithMemorySize(16UL << 20)
            .WithFlatBinary(code, new PhysicalAddress(0x10_0000), Virt.Machine.Boot.BootEntryState.FlatProtectedMode(0x10_0000, "cpuid"))
            .Build();
        machine.Run(maxInstructions: 100);
        return (uint)machine.Cpu.GetRegister(GeneralRegister.Rcx);
    }

    private static uint Hex(string text, string label)
    {
        int at = text.IndexOf(label, StringComparison.Ordinal) + label.Length;
        return uint.Parse(text.AsSpan(at, 8), System.Globalization.NumberStyles.HexNumber, System.Globalization.CultureInfo.InvariantCulture);
    }
}
