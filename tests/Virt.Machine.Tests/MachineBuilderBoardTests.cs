using Iced.Intel;
using Virt.Devices;
using Virt.Devices.FwCfg;
using Virt.Machine.Boot;
using Virt.Memory;
using Xunit;
using static Iced.Intel.AssemblerRegisters;

namespace Virt.Machine.Tests;

/// <summary><see cref="MachineBuilder.WithBoard"/>: QEMU's pc by default, the ISA PC on request, explicit options winning.</summary>
public sealed class MachineBuilderBoardTests
{
    [Fact]
    public void DefaultBoard_IsQemusPc()
    {
        using Machine machine = new MachineBuilder().WithMemorySize(32UL << 20).Build();
        PciBus bus = machine.FindDevice<PciBus>()!;
        Assert.Equal(0x1237_8086u, bus.ReadConfiguration(new PciFunctionAddress(0, 0, 0), 0, 4)); // i440FX
        Assert.NotNull(machine.FindDevice<Piix3Ide>());
        Assert.NotNull(machine.FindDevice<Piix4PowerManagement>());
        Assert.NotNull(machine.FindDevice<LocalApic>());
        Assert.NotNull(machine.FindDevice<IoApic>());
        Assert.NotNull(machine.FindDevice<Hpet>());
        Assert.NotNull(machine.FindDevice<FwCfgDevice>());
        Assert.Equal(2, machine.FindDevice<StandardVgaPciDevice>()!.Address.Device);
        Assert.True(machine.Cpu.TryReadMsr(LocalApic.ApicBaseMsrIndex, out _));

        // ACPI: the RSDP in the BIOS area, found where the ACPI spec says to look.
        byte[] signature = new byte[8];
        machine.Memory.Read(new PhysicalAddress(0xF_0000), signature);
        Assert.Equal("RSD PTR "u8.ToArray(), signature);
    }

    [Fact]
    public void IsaPc_HasNoneOfThePcBoardsDevices()
    {
        using Machine machine = new MachineBuilder().WithBoard(MachineBoard.IsaPc).WithMemorySize(32UL << 20).Build();
        Assert.Null(machine.FindDevice<PciBus>());
        Assert.Null(machine.FindDevice<LocalApic>());
        Assert.Null(machine.FindDevice<Hpet>());
        Assert.Null(machine.FindDevice<FwCfgDevice>());
        Assert.Null(machine.FindDevice<StandardVgaPciDevice>());
        Assert.NotNull(machine.FindDevice<VgaAdapter>());
        Assert.Equal(0xFFFF_FFFFu, machine.Ports.ReadDoubleWord(0xCFC));
        Assert.Equal("reset control", machine.Ports.GetRegistrationName(0xCF9));
        Assert.False(machine.Cpu.TryReadMsr(LocalApic.ApicBaseMsrIndex, out _));
    }

    [Fact]
    public void ExplicitOptionsWin_WhateverTheOrder()
    {
        using Machine noApic = new MachineBuilder().WithApic(false).WithHpet(false).WithBoard(MachineBoard.Pc).WithMemorySize(32UL << 20).Build();
        Assert.NotNull(noApic.FindDevice<PciBus>());
        Assert.Null(noApic.FindDevice<LocalApic>());
        Assert.Null(noApic.FindDevice<Hpet>());

        using Machine isaWithApic = new MachineBuilder().WithApic().WithBoard(MachineBoard.IsaPc).WithMemorySize(32UL << 20).Build();
        Assert.NotNull(isaWithApic.FindDevice<LocalApic>());
        Assert.Null(isaWithApic.FindDevice<PciBus>());

        // Without the PCI bus the pc board's VGA falls back to the ISA side and no ACPI tables are made.
        using Machine noPci = new MachineBuilder().WithPciBus(false).WithMemorySize(32UL << 20).Build();
        Assert.Null(noPci.FindDevice<StandardVgaPciDevice>());
        Assert.NotNull(noPci.FindDevice<VgaAdapter>());
        Assert.NotEqual((byte)'R', noPci.Memory.ReadByte(new PhysicalAddress(0xF_0000)));

        // The last WithBoard counts, and a builder can be built again after changing it.
        MachineBuilder builder = new MachineBuilder().WithMemorySize(32UL << 20).WithBoard(MachineBoard.IsaPc);
        using (Machine isa = builder.Build())
        {
            Assert.Null(isa.FindDevice<PciBus>());
        }

        using Machine pc = builder.WithBoard(MachineBoard.Pc).Build();
        Assert.NotNull(pc.FindDevice<PciBus>());
        Assert.Throws<ArgumentOutOfRangeException>(() => new MachineBuilder().WithBoard((MachineBoard)7));
    }

    [Fact]
    public void PcBoard_LeavesAcpiOut_WhenThereIsNoRoomForIt()
    {
        // 1 MiB: no RAM above 1 MiB for the tables; an explicit WithAcpi() says so instead.
        using Machine small = new MachineBuilder().WithMemorySize(1UL << 20)
            .WithFlatBinary([0xF4], new PhysicalAddress(0x7C00), BootEntryState.RealMode(0, 0x7C00, "halt")).Build();
        Assert.NotNull(small.FindDevice<PciBus>());
        Assert.NotEqual((byte)'R', small.Memory.ReadByte(new PhysicalAddress(0xF_0000)));
        MachineConfigurationException e = Assert.Throws<MachineConfigurationException>(() => new MachineBuilder().WithMemorySize(1UL << 20).WithAcpi().Build());
        Assert.Contains("2 MiB", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AGuestThatIgnoresPciAndTheApic_RunsTheSameOnBothBoards()
    {
        // A real-mode guest that programs the PIT, takes IRQ0 through the 8259A (on the pc board: through the local
        // APIC's LINT0, in virtual wire mode), writes to VGA text memory and exits through isa-debug-exit.
        const ushort handlerAddress = 0x7C80;
        const ushort ticks = 0x600;
        byte[] code = Running.GuestPrograms.Assemble16(0x7C00, a =>
        {
            Label wait = a.CreateLabel();
            a.xor(ax, ax);
            a.mov(ds, ax);
            a.mov(__word_ptr[8 * 4], handlerAddress);
            a.mov(__word_ptr[(8 * 4) + 2], 0);
            a.mov(__word_ptr[ticks], 0);
            a.mov(al, 0xFE);
            a.@out(0x21, al);            // IRQ0 only
            a.mov(al, 0x34);
            a.@out(0x43, al);            // counter 0, mode 2
            a.mov(al, 0x00);
            a.@out(0x40, al);
            a.mov(al, 0x10);
            a.@out(0x40, al);
            a.Label(ref wait);
            a.sti();
            a.hlt();
            a.cmp(__word_ptr[ticks], 3);
            a.jb(wait);
            a.cli();
            a.mov(ax, 0xB800);
            a.mov(ds, ax);
            a.mov(__word_ptr[0], 0x1F41);
            a.mov(dx, 0x501);
            a.mov(al, 0x11);
            a.@out(dx, al);
            a.hlt();
        });
        byte[] handler = Running.GuestPrograms.Assemble16(handlerAddress, a =>
        {
            a.inc(__word_ptr[ticks]);
            a.mov(al, 0x20);
            a.@out(0x20, al);
            a.iret();
        });
        Assert.True(code.Length <= handlerAddress - 0x7C00, "the handler follows the code");
        byte[] image = new byte[handlerAddress - 0x7C00 + handler.Length];
        code.CopyTo(image, 0);
        handler.CopyTo(image, handlerAddress - 0x7C00);

        (MachineStopReason Stop, ushort Cell) Run(MachineBoard board)
        {
            using Machine machine = new MachineBuilder().WithBoard(board).WithMemorySize(16UL << 20).WithDebugExit()
                .WithFlatBinary(image, new PhysicalAddress(0x7C00), BootEntryState.RealMode(0, 0x7C00, "pit guest")).Build();
            MachineStopReason stop = machine.Run(maxInstructions: 10_000_000);
            return (stop, machine.Memory.ReadWord(new PhysicalAddress(0xB8000)));
        }

        (MachineStopReason pcStop, ushort pcCell) = Run(MachineBoard.Pc);
        (MachineStopReason isaStop, ushort isaCell) = Run(MachineBoard.IsaPc);
        Assert.Equal(MachineStopKind.DebugExit, pcStop.Kind);
        Assert.Equal(isaStop.Kind, pcStop.Kind);
        Assert.Equal(isaStop.ExitCode, pcStop.ExitCode);
        Assert.Equal(0x1F41, pcCell);
        Assert.Equal(isaCell, pcCell);
    }
}
