using Iced.Intel;
using Virt.Devices;
using Virt.Machine.Boot;
using Virt.Machine.Tests.Docs;
using Virt.Machine.Tests.Running;
using Virt.Memory;
using Xunit;
using static Iced.Intel.AssemblerRegisters;

namespace Virt.Machine.Tests.Board;

/// <summary>The PCI board (<see cref="MachineBuilder.WithPciBus"/>) driven by guest programs.</summary>
public sealed class PciBoardTests
{
    private const uint CodeAddress = 0x10000;
    private const uint HandlerAddress = 0x10800;
    private const uint IdtAddress = 0x11000;
    private const uint IdtDescriptorAddress = 0x11800;
    private const uint Results = 0x20000;
    private const uint DmaSource = 0x30000;
    private const uint DmaDestination = 0x31000;
    private const uint Bar0First = 0xE000_0000;
    private const uint Bar0Moved = 0xE010_0000;
    private const byte Irq11Vector = 0x73; // slave PIC base 70h + IRQ 11 - 8
    private const int CardSlot = 2;

    private static uint ConfigAddress(int device, int function, int register) =>
        0x8000_0000u | ((uint)device << 11) | ((uint)function << 8) | (uint)register;

    /// <summary>
    /// A guest in flat protected mode finds the scratch card at 00:02.0, sizes and places its BAR, routes PIRQB to IRQ
    /// 11 (level, through the ELCR), checks the scratch register, moves the BAR, starts a DMA copy and waits for the
    /// card's interrupt on vector 73h; the handler acknowledges the card and the PICs.
    /// </summary>
    [Fact]
    public void GuestSizesRelocatesAndDrivesACard_DmaAndIntxThroughThePic()
    {
        byte[] code = GuestPrograms.Assemble32(CodeAddress, a =>
        {
            GuestPrograms.InitializePics(a, masterMask: 0xFB, slaveMask: 0xF7); // cascade and IRQ 11 only
            a.mov(dx, 0x4D1);
            a.mov(al, 0x08);
            a.@out(dx, al);                                       // ELCR2: IRQ 11 level-triggered
            a.lidt(__fword_ptr[IdtDescriptorAddress]);
            ConfigRead(a, CardSlot, 0, 0x00);
            a.mov(__dword_ptr[Results + 0x00], eax);              // vendor/device
            ConfigWrite(a, CardSlot, 0, 0x10, 0xFFFF_FFFF);
            ConfigRead(a, CardSlot, 0, 0x10);
            a.mov(__dword_ptr[Results + 0x04], eax);              // BAR0 size mask
            ConfigWrite(a, CardSlot, 0, 0x10, Bar0First);
            ConfigWrite(a, CardSlot, 0, 0x04, 0x0006);            // memory space, bus master
            ConfigWrite(a, 1, 0, 0x60, 0x8080_0B80);              // PIIX3: PIRQB (61h) -> IRQ 11, others off
            ConfigRead(a, CardSlot, 0, 0x3C);
            a.mov(__dword_ptr[Results + 0x08], eax);              // interrupt pin/line
            a.mov(__dword_ptr[Bar0First + ScratchPciCard.Scratch], 0x1234_5678);
            a.mov(eax, __dword_ptr[Bar0First + ScratchPciCard.Scratch]);
            a.mov(__dword_ptr[Results + 0x0C], eax);
            ConfigWrite(a, CardSlot, 0, 0x10, Bar0Moved);
            a.mov(eax, __dword_ptr[Bar0First + ScratchPciCard.Scratch]);
            a.mov(__dword_ptr[Results + 0x10], eax);              // old place: nothing there now
            a.mov(eax, __dword_ptr[Bar0Moved + ScratchPciCard.Scratch]);
            a.mov(__dword_ptr[Results + 0x14], eax);              // new place: the same register
            for (uint i = 0; i < 16; i += 4)
            {
                a.mov(__dword_ptr[DmaSource + i], 0xA0B0_C0D0 + i);
            }

            a.mov(__dword_ptr[Bar0Moved + ScratchPciCard.DmaSource], DmaSource);
            a.mov(__dword_ptr[Bar0Moved + ScratchPciCard.DmaDestination], DmaDestination);
            a.mov(__dword_ptr[Bar0Moved + ScratchPciCard.DmaLength], 16);
            a.mov(ebx, 0);
            a.mov(__dword_ptr[Bar0Moved + ScratchPciCard.Control], ScratchPciCard.ControlStart);
            Label wait = a.CreateLabel();
            a.Label(ref wait);
            a.sti();
            a.hlt();
            a.cmp(ebx, 1);
            a.jb(wait);
            a.cli();
            a.mov(__dword_ptr[Results + 0x18], ebx);
            a.mov(dx, 0x501);
            a.mov(al, 0x21);
            a.@out(dx, al);
            a.hlt();
        });
        byte[] handler = GuestPrograms.Assemble32(HandlerAddress, a =>
        {
            a.push(eax);
            a.mov(__dword_ptr[Bar0Moved + ScratchPciCard.Status], ScratchPciCard.StatusDone); // lowers INTA#
            a.inc(ebx);
            a.mov(al, 0x20);
            a.@out(0xA0, al);
            a.@out(0x20, al);
            a.pop(eax);
            a.iretd();
        });

        byte[] image = BuildImage(code, handler);
        using Machine machine = new MachineBuilder()
            .WithMemorySize(16UL << 20)
            .WithPciBus()
            .AddPciDevice(_ => new ScratchPciCard(), CardSlot)
            .WithDebugExit()
            .WithFlatBinary(image, new PhysicalAddress(CodeAddress), BootEntryState.FlatProtectedMode(CodeAddress, "pci guest"))
            .Build();

        MachineStopReason stop = machine.Run(maxInstructions: 1_000_000);

        Assert.Equal(MachineStopKind.DebugExit, stop.Kind);
        Assert.Equal(ProcessExitStatuses.ForDebugExit(0x21), stop.ExitCode);
        Assert.Equal(0xBEEF_1234u, Result(machine, 0x00));
        Assert.Equal(0xFFFF_F000u, Result(machine, 0x04));        // 4 KiB, 32-bit, non-prefetchable
        Assert.Equal(0x0000_0100u, Result(machine, 0x08) & 0xFF00); // INTA#
        Assert.Equal(0x1234_5678u, Result(machine, 0x0C));
        Assert.Equal(0xFFFF_FFFFu, Result(machine, 0x10));
        Assert.Equal(0x1234_5678u, Result(machine, 0x14));
        Assert.Equal(1u, Result(machine, 0x18));                  // exactly one interrupt: level, cleared by the handler
        byte[] copied = new byte[16];
        machine.Memory.Read(new PhysicalAddress(DmaDestination), copied);
        byte[] source = new byte[16];
        machine.Memory.Read(new PhysicalAddress(DmaSource), source);
        Assert.Equal(source, copied);
        Assert.Equal(0xA0B0_C0D0u, BitConverter.ToUInt32(copied, 0));
        Assert.False(machine.Pic.GetInput(11).Level);
    }

    [Fact]
    public void GuestPowersOffThroughPm1aCnt_TheRunEndsWithStatusZero()
    {
        const ushort pmBase = 0x600;
        byte[] code = GuestPrograms.Assemble32(CodeAddress, a =>
        {
            ConfigWrite(a, 1, 3, 0x40, pmBase);                   // PMBA
            ConfigWrite(a, 1, 3, 0x80, 0x01);                     // PMREGMISC: PM I/O space enable
            a.mov(dx, 0xB2);
            a.mov(al, Piix4PowerManagement.AcpiEnableCommand);
            a.@out(dx, al);                                       // SCI_EN on, as the FADT's SMI_CMD asks
            a.mov(dx, pmBase + 4);
            a.@in(ax, dx);
            a.mov(__word_ptr[Results], ax);
            a.mov(ax, 0x2000 | (Piix4PowerManagement.SleepTypeSoftOff << 10) | 1);
            a.@out(dx, ax);                                       // SLP_TYP = _S5, SLP_EN
            a.jmp(CodeAddress);                                   // never reached: the machine is off
        });
        using Machine machine = new MachineBuilder()
            .WithMemorySize(16UL << 20)
            .WithPciBus()
            .WithFlatBinary(code, new PhysicalAddress(CodeAddress), BootEntryState.FlatProtectedMode(CodeAddress, "poweroff"))
            .Build();

        MachineStopReason stop = machine.Run(maxInstructions: 100_000);

        Assert.Equal(MachineStopKind.PoweredOff, stop.Kind);
        Assert.Equal(ProcessExitStatuses.Success, stop.ProcessExitStatus);
        Assert.Equal(1, machine.Memory.ReadWord(new PhysicalAddress(Results)) & 1);
    }

    [Fact]
    public void Firmware_IsShadowedThroughPam_AndResetGoesBackToRom()
    {
        byte[] firmware = GuestPrograms.FirmwareThatPrints("x", 1);
        using Machine machine = new MachineBuilder()
            .WithMemorySize(16UL << 20)
            .WithPciBus()
            .WithFirmware(firmware)
            .Build();
        var f0000 = new PhysicalAddress(0xF0000);
        var resetVector = new PhysicalAddress(0xFFFF0);
        Assert.Equal(firmware[0xFFF0], machine.Memory.ReadByte(resetVector));
        Assert.Equal(firmware[0xFFF0], machine.Memory.ReadByte(new PhysicalAddress(0xFFFF_FFF0)));
        PciBus bus = machine.FindDevice<PciBus>()!;
        var hostBridge = new PciFunctionAddress(0, 0, 0);
        Assert.Equal(0x1237_8086u, bus.ReadConfiguration(hostBridge, 0, 4));

        bus.WriteConfiguration(hostBridge, 0x59, 1, 0x30);      // F0000h-FFFFFh: DRAM read/write
        Assert.Equal(0, machine.Memory.ReadByte(f0000));         // the shadow RAM is empty
        machine.Memory.WriteByte(f0000, 0x5A);
        Assert.Equal(0x5A, machine.Memory.ReadByte(f0000));
        bus.WriteConfiguration(hostBridge, 0x59, 1, 0x10);      // read-only DRAM
        machine.Memory.WriteByte(f0000, 0x00);
        Assert.Equal(0x5A, machine.Memory.ReadByte(f0000));
        machine.Reset();
        Assert.Equal(firmware[0], machine.Memory.ReadByte(f0000)); // PAM back to 00: ROM
        Assert.Equal(0u, bus.ReadConfiguration(hostBridge, 0x59, 1));
    }

    [Fact]
    public void Snapshot_RestoresBarsPamAndRouting()
    {
        using Machine machine = BuildIdle();
        PciBus bus = machine.FindDevice<PciBus>()!;
        var card = new PciFunctionAddress(0, CardSlot, 0);
        bus.WriteConfiguration(card, 0x10, 4, Bar0First);
        bus.WriteConfiguration(card, 0x04, 2, 0x0002);
        bus.WriteConfiguration(new PciFunctionAddress(0, 0, 0), 0x5A, 1, 0x33);
        bus.WriteConfiguration(new PciFunctionAddress(0, 1, 0), 0x61, 1, 0x0A);
        machine.Memory.WriteDoubleWord(new PhysicalAddress(Bar0First), 0xCAFE);
        var snapshot = new MemoryStream();
        machine.SaveSnapshot(snapshot);

        using Machine restored = BuildIdle();
        snapshot.Position = 0;
        restored.RestoreSnapshot(snapshot);
        Assert.Equal(0xCAFEu, restored.Memory.ReadDoubleWord(new PhysicalAddress(Bar0First)));
        Assert.Equal(ShadowMode.ReadWriteRam, restored.Memory.GetShadowMode("pam-c0000"));
        Assert.Equal(10, restored.FindDevice<Piix3IsaBridge>()!.GetRoutedIrq(1));
    }

    [Fact]
    public void WithoutPciBus_TheBoardIsUnchanged_AndCardsAreRefused()
    {
        using Machine machine = new MachineBuilder().WithBoard(MachineBoard.IsaPc).WithMemorySize(16UL << 20).Build();
        Assert.Null(machine.FindDevice<PciBus>());
        Assert.Equal(0xFFFF_FFFFu, machine.Ports.ReadDoubleWord(0xCFC));
        Assert.Equal("reset control", machine.Ports.GetRegistrationName(0xCF9));
        MachineConfigurationException e = Assert.Throws<MachineConfigurationException>(() =>
            new MachineBuilder().WithBoard(MachineBoard.IsaPc).AddPciDevice(_ => new ScratchPciCard()).Build());
        Assert.Contains("WithPciBus", e.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentOutOfRangeException>(() => new MachineBuilder().AddPciDevice(_ => new ScratchPciCard(), 1));
    }

    [Fact]
    public void CardsTakeTheFirstFreeSlotsFromTwo_AndSlotClashesFailAtBuild()
    {
        // With the ISA VGA, so no std VGA card takes device number 2 before the host's cards.
        using Machine machine = new MachineBuilder()
            .WithMemorySize(16UL << 20)
            .WithPciBus()
            .WithVga(VgaKind.Isa)
            .AddPciDevice(_ => new NamedCard("first"))
            .AddPciDevice(_ => new NamedCard("pinned"), 2)
            .Build();
        PciBus bus = machine.FindDevice<PciBus>()!;
        Assert.Equal("pinned", bus.Find(2)!.Name);
        Assert.Equal("first", bus.Find(3)!.Name);
        Assert.Equal("PCI CONFIG_ADDRESS", machine.Ports.GetRegistrationName(0xCF9));

        MachineConfigurationException e = Assert.Throws<MachineConfigurationException>(() => new MachineBuilder()
            .WithPciBus()
            .AddPciDevice(_ => new NamedCard("a"), 5)
            .AddPciDevice(_ => new NamedCard("b"), 5)
            .Build());
        Assert.Contains("AddPciDevice (card 2)", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void GuestResetThroughCf9_StillWorksOnThePciBoard()
    {
        byte[] code = GuestPrograms.Assemble16(0x7C00, a =>
        {
            a.mov(dx, 0xCF9);
            a.mov(al, 0x06);
            a.@out(dx, al);
            a.hlt();
        });
        using Machine machine = new MachineBuilder()
            .WithMemorySize(16UL << 20)
            .WithPciBus()
            .WithResetBehavior(ResetBehavior.Stop)
            .WithFlatBinary(code, new PhysicalAddress(0x7C00), BootEntryState.RealMode(0, 0x7C00, "cf9"))
            .Build();
        Assert.Equal(MachineStopKind.ResetRequested, machine.Run(maxInstructions: 1000).Kind);
    }

    [Fact]
    public void PciTrace_LogsConfigurationAccesses()
    {
        var loggers = new CapturingLoggerFactory();
        using Machine machine = new MachineBuilder()
            .WithMemorySize(16UL << 20)
            .WithPciBus()
            .WithLoggerFactory(loggers)
            .WithTrace(MachineTraceEvents.Pci)
            .Build();
        machine.Ports.WriteDoubleWord(0xCF8, ConfigAddress(0, 0, 0));
        Assert.Equal(0x1237_8086u, machine.Ports.ReadDoubleWord(0xCFC));
        machine.Ports.WriteDoubleWord(0xCF8, ConfigAddress(9, 0, 0));
        machine.Ports.WriteWord(0xCFC, 0x1234);
        string[] lines = [.. loggers.Messages(MachineLogCategories.TracePci, Microsoft.Extensions.Logging.LogLevel.Trace)];
        Assert.Contains(lines, l => l.Contains("read 00:00.0 register 0x00 width 4 value 0x12378086", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("write 00:09.0 register 0x00 width 2 value 0x1234 (no function)", StringComparison.Ordinal));
    }

    [Fact]
    public void DirectKernelBoot_SetsUpTheChipsetAsSeaBiosWould()
    {
        string dir = Directory.CreateTempSubdirectory("virt-pci-").FullName;
        try
        {
            string kernel = Path.Combine(dir, "bzImage");
            File.WriteAllBytes(kernel, Boot.TestImages.BzImage());
            using Machine machine = new MachineBuilder()
                .WithMemorySize(64UL << 20)
                .WithPciBus()
                .AddPciDevice(_ => new ScratchPciCard(), CardSlot)
                .WithKernel(kernel)
                .Build();
            PciBus bus = machine.FindDevice<PciBus>()!;
            Piix4PowerManagement pm = machine.FindDevice<Piix4PowerManagement>()!;
            Assert.Equal((ushort)0x600, pm.PmBlockPort);                   // where the ACPI tables say PM1a and the PM timer are
            Assert.Equal(pm.PmTimerValue, machine.Ports.ReadDoubleWord(0x608));
            Assert.Equal(0x0B0B_0A0Au, bus.ReadConfiguration(new PciFunctionAddress(0, 1, 0), 0x60, 4)); // PIRQA-D: 10, 10, 11, 11
            Assert.Equal(0x0C, machine.Ports.ReadByte(0x4D1));              // ELCR2: IRQ 10 and 11 level-triggered
            Assert.Equal(10u, bus.ReadConfiguration(new PciFunctionAddress(0, CardSlot, 0), 0x3C, 1)); // INTA# of 00:02.0 -> PIRQB -> IRQ 10
            Assert.Equal(9u, bus.ReadConfiguration(new PciFunctionAddress(0, 1, 3), 0x3C, 1));         // the PM function's SCI: IRQ 9
            Assert.Equal(0x0701u, bus.ReadConfiguration(new PciFunctionAddress(0, 1, 3), 0x90, 4));    // SMBus base 700h

            // The IDE function decodes its legacy ports, as SeaBIOS leaves it under QEMU: I/O space on, bus master off.
            uint ideCommand = bus.ReadConfiguration(new PciFunctionAddress(0, 1, 1), PciConfigurationRegisters.Command, 2);
            Assert.Equal((uint)PciConfigurationRegisters.CommandIoSpace, ideCommand & (PciConfigurationRegisters.CommandIoSpace | PciConfigurationRegisters.CommandBusMaster));
            Assert.True(machine.Ports.IsRegistered(0x1F7));
            Assert.True(machine.Ports.IsRegistered(0x177));
            Assert.True(machine.Ports.IsRegistered(0x3F6));

            // Every function got I/O and memory decoding (the card's BAR is still 0, so nothing of it is mapped).
            uint cardCommand = bus.ReadConfiguration(new PciFunctionAddress(0, CardSlot, 0), PciConfigurationRegisters.Command, 2);
            Assert.Equal((uint)PciConfigurationRegisters.CommandMemorySpace, cardCommand & (PciConfigurationRegisters.CommandMemorySpace | PciConfigurationRegisters.CommandBusMaster));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void FlatBinaryBoot_LeavesTheChipsetAtItsResetValues()
    {
        using Machine machine = BuildIdle();
        Assert.Null(machine.FindDevice<Piix4PowerManagement>()!.PmBlockPort);
        Assert.Equal(0x8080_8080u, machine.FindDevice<PciBus>()!.ReadConfiguration(new PciFunctionAddress(0, 1, 0), 0x60, 4));
        Assert.Equal(0u, machine.FindDevice<PciBus>()!.ReadConfiguration(new PciFunctionAddress(0, 1, 1), PciConfigurationRegisters.Command, 2));
        Assert.False(machine.Ports.IsRegistered(0x1F7));
    }

    private static Machine BuildIdle() => new MachineBuilder()
        .WithMemorySize(16UL << 20)
        .WithPciBus()
        .AddPciDevice(_ => new ScratchPciCard(), CardSlot)
        .Build();

    private static uint Result(Machine machine, uint offset) => machine.Memory.ReadDoubleWord(new PhysicalAddress(Results + offset));

    private static void ConfigRead(Assembler a, int device, int function, int register)
    {
        a.mov(dx, 0xCF8);
        a.mov(eax, ConfigAddress(device, function, register));
        a.@out(dx, eax);
        a.mov(dx, 0xCFC);
        a.@in(eax, dx);
    }

    private static void ConfigWrite(Assembler a, int device, int function, int register, uint value)
    {
        a.mov(dx, 0xCF8);
        a.mov(eax, ConfigAddress(device, function, register));
        a.@out(dx, eax);
        a.mov(dx, 0xCFC);
        a.mov(eax, value);
        a.@out(dx, eax);
    }

    private static byte[] BuildImage(byte[] code, byte[] handler)
    {
        byte[] image = new byte[IdtDescriptorAddress + 6 - CodeAddress];
        code.CopyTo(image, 0);
        handler.CopyTo(image, (int)(HandlerAddress - CodeAddress));
        // One 32-bit interrupt gate (type 8Eh) for vector 73h; the IDT limit ends with it.
        int gate = (int)(IdtAddress - CodeAddress) + (Irq11Vector * 8);
        BitConverter.GetBytes((ushort)(HandlerAddress & 0xFFFF)).CopyTo(image, gate);
        BitConverter.GetBytes(BootGdt.CodeSelector).CopyTo(image, gate + 2);
        image[gate + 5] = 0x8E;
        BitConverter.GetBytes((ushort)(HandlerAddress >> 16)).CopyTo(image, gate + 6);
        int descriptor = (int)(IdtDescriptorAddress - CodeAddress);
        BitConverter.GetBytes((ushort)((Irq11Vector * 8) + 7)).CopyTo(image, descriptor);
        BitConverter.GetBytes(IdtAddress).CopyTo(image, descriptor + 2);
        return image;
    }

    private sealed class NamedCard(string name) : PciDevice(name, new PciDeviceIdentity(0x1234, 0x0001, 0xFF_0000));
}
