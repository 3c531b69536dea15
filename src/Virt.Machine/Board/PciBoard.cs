using Microsoft.Extensions.Logging;
using Virt.Devices;
using Virt.Machine.Boot;
using Virt.Memory;

namespace Virt.Machine;

/// <summary>
/// The PCI part of the PC board, laid out as QEMU's <c>pc</c> machine: bus 0 with the i440FX host bridge at 00.0, the
/// PIIX3 ISA bridge at 01.0, its IDE function at 01.1 and the PIIX4 power-management function at 01.3, then the host's
/// cards from device 2 on;
/// the BIOS area C0000h-FFFFFh as 13 shadowable segments under the PAM registers; the SCI on IRQ 9.
/// </summary>
internal sealed class PciBoard
{
    /// <summary>The device number of the host's first card when none is given (QEMU's first free slot).</summary>
    public const int FirstCardSlot = 2;

    /// <summary>Where SeaBIOS puts the PIIX4 PM block (its <c>PORT_ACPI_PM_BASE</c>), which QEMU's ACPI tables assume.</summary>
    public const ushort FirmwarePmBase = 0x600;

    /// <summary>Where SeaBIOS puts the SMBus base: 100h above the PM block.</summary>
    public const ushort FirmwareSmbusBase = FirmwarePmBase + 0x100;

    /// <summary>What SeaBIOS writes to SMBHSTCFG (host enable, SMI off).</summary>
    private const byte FirmwareSmbusHostConfiguration = 0x09;

    private const ushort ElcrPort = 0x4D0;

    /// <summary>The command bits SeaBIOS sets in every function (pciinit.c, pci_bios_init_device): I/O, memory, SERR#.</summary>
    private const ushort FirmwareCommandBits = PciConfigurationRegisters.CommandIoSpace | PciConfigurationRegisters.CommandMemorySpace | PciConfigurationRegisters.CommandSerrEnable;
    private const int HostBridgeSlot = 0;
    private const int ChipsetSlot = 1;
    private const int PowerManagementFunction = 3;

    /// <summary>The ISA IRQs SeaBIOS routes PIRQA-D to on QEMU's <c>pc</c> machine.</summary>
    private static ReadOnlySpan<byte> FirmwarePirqIrqs => [10, 10, 11, 11];

    private readonly PciWindowMapper _mapper;
    private readonly LateBoundShadowControl _shadow;

    private PciBoard(PciWindowMapper mapper, LateBoundShadowControl shadow, PciBus bus, I440fxHostBridge hostBridge, Piix3IsaBridge isaBridge, Piix3Ide ide, Piix4PowerManagement powerManagement)
    {
        Ide = ide;
        _mapper = mapper;
        _shadow = shadow;
        Bus = bus;
        HostBridge = hostBridge;
        IsaBridge = isaBridge;
        PowerManagement = powerManagement;
    }

    public PciBus Bus { get; }

    public I440fxHostBridge HostBridge { get; }

    public Piix3IsaBridge IsaBridge { get; }

    public Piix3Ide Ide { get; }

    public Piix4PowerManagement PowerManagement { get; }

    /// <summary>The board's functions, in address order, for the machine's device list.</summary>
    public IEnumerable<IDevice> ChipsetDevices => [Bus, HostBridge, IsaBridge, Ide, PowerManagement];

    /// <summary>How many of <see cref="PciBus.Devices"/> are the chipset's (the host's cards follow).</summary>
    public int ChipsetFunctionCount => 4;

    /// <summary>
    /// Maps the firmware for a PCI board: the whole image at the top of 4 GiB as ROM, and the BIOS area as one
    /// shadowable ROM region per PAM segment, holding the image's last 128 KiB where <see cref="FirmwareImage.LowAliasRange"/>
    /// puts them (zeros elsewhere, and everywhere without firmware), so the PAM registers can shadow it.
    /// </summary>
    public static void AddBiosArea(PhysicalMemoryMapBuilder builder, FirmwareImage? firmware)
    {
        ReadOnlySpan<byte> image = default;
        AddressRange alias = default;
        if (firmware is not null)
        {
            builder.AddRom(FirmwareImage.DefaultRegionName, firmware.HighRange.Start, (ulong)firmware.SizeInBytes, firmware.Image);
            image = firmware.Image;
            alias = firmware.LowAliasRange;
        }

        foreach (PamSegment segment in I440fxHostBridge.PamSegments)
        {
            ReadOnlySpan<byte> contents = default;
            if (firmware is not null && segment.Start >= alias.Start.Value && segment.Start <= alias.LastAddress.Value)
            {
                ulong aliasSize = alias.SizeInBytesMinusOne + 1;
                int offset = (int)((ulong)image.Length - aliasSize + (segment.Start - alias.Start.Value));
                contents = image.Slice(offset, (int)segment.SizeInBytes);
            }

            builder.AddShadowableRom(segment.RegionName, new PhysicalAddress(segment.Start), segment.SizeInBytes, contents);
        }
    }

    /// <summary>The I/O APIC pin of PIRQA (PIRQB-D follow).</summary>
    public const int FirstPirqIoApicPin = 16;

    private const int PirqIoApicPinCount = 4;

    /// <summary>Creates the chipset functions and attaches them and the host's cards to bus 0.</summary>
    public static PciBoard Create(
        IoPortSpace ports,
        IGuestMemory memory,
        IsaInterruptRouting irqs,
        ApicBoard? apic,
        IVirtualClock clock,
        IPlatformControl platform,
        ILoggerFactory loggerFactory,
        Piix3IdeOptions ideOptions,
        IReadOnlyList<(PciDevice Device, int? Slot, string Option)> cards)
    {
        var mapper = new PciWindowMapper(ports);
        var shadow = new LateBoundShadowControl();
        var hostBridge = new I440fxHostBridge(shadow);
        var isaBridge = new Piix3IsaBridge(irq => irqs.CreateLine(irq, "PIIX3 PIRQ"));
        var ide = new Piix3Ide(ideOptions, irqs.CreateLine(Piix3Ide.PrimaryIrq, "IDE primary"), irqs.CreateLine(Piix3Ide.SecondaryIrq, "IDE secondary"), loggerFactory.CreateLogger<Piix3Ide>());
        var powerManagement = new Piix4PowerManagement(irqs.CreateLine(Piix4PowerManagement.SciIrq, "PIIX4 SCI"), clock, platform);
        var bus = new PciBus(mapper, memory, isaBridge, loggerFactory.CreateLogger<PciBus>());
        if (apic is not null)
        {
            // QEMU's pc machine wires PIRQA-D to I/O APIC pins 16-19 as well, whatever 60h-63h say, and MSI to the local APIC.
            isaBridge.ConnectApicInputs([.. Enumerable.Range(0, PirqIoApicPinCount).Select(i => (IInterruptLine)apic.IoApic.CreateInputLine(FirstPirqIoApicPin + i, "PIIX3 PIRQ"))]);
            bus.MsiTarget = new LocalApicMsiTarget(apic.LocalApic);
        }

        bus.Attach(hostBridge, HostBridgeSlot);
        bus.Attach(isaBridge, ChipsetSlot);
        bus.Attach(ide, ChipsetSlot, Piix3Ide.FunctionNumber);
        bus.Attach(powerManagement, ChipsetSlot, PowerManagementFunction);
        foreach ((PciDevice card, int? slot, string option) in cards.Where(c => c.Slot is not null))
        {
            AttachCard(bus, card, slot!.Value, option);
        }

        int next = FirstCardSlot;
        foreach ((PciDevice card, _, string option) in cards.Where(c => c.Slot is null))
        {
            while (next < PciFunctionAddress.DevicesPerBus && bus.Find(next) is not null)
            {
                next++;
            }

            if (next == PciFunctionAddress.DevicesPerBus)
            {
                throw new MachineConfigurationException($"{option}: PCI bus 0 has no free device number left for '{card.Name}'.");
            }

            AttachCard(bus, card, next, option);
        }

        return new PciBoard(mapper, shadow, bus, hostBridge, isaBridge, ide, powerManagement);
    }

    /// <summary>Adds an unmapped memory region for every memory BAR and expansion ROM on the bus.</summary>
    public void AddBarRegions(PhysicalMemoryMapBuilder builder)
    {
        foreach (PciDevice device in Bus.Devices)
        {
            foreach (PciBar bar in device.Bars.Where(b => b.IsMemory))
            {
                builder.AddUnmappedMmio(bar.RegionName, bar.SizeInBytes, bar.MmioHandler!);
            }
        }
    }

    /// <summary>
    /// Sets up the chipset as SeaBIOS does on QEMU's <c>pc</c> machine, for kernels booted directly (no firmware runs
    /// before them, yet their ACPI tables and IRQ routing assume it): the PIIX4 PM block at
    /// <see cref="FirmwarePmBase"/> and enabled, the SMBus base at <see cref="FirmwareSmbusBase"/>, PIRQA-D routed to
    /// IRQs 10, 10, 11, 11 and those marked level-triggered in the ELCR, and every function's interrupt line register
    /// set to the IRQ its pin reaches, except the PM function's, which says 9: its SCI is wired to IRQ 9; both IDE
    /// channels' decode enable bits set in IDETIM (SeaBIOS's <c>piix_ide_setup</c>; ata_piix checks them), and I/O and
    /// memory decoding and SERR# enabled in every function's command register (bus mastering stays off, as SeaBIOS
    /// leaves it), so the IDE function's legacy ports decode. BARs are left for the kernel to assign.
    /// </summary>
    /// <param name="ports">The machine's port space (for the ELCR).</param>
    public void ConfigureAsFirmwareWould(IoPortSpace ports)
    {
        PowerManagement.WriteConfiguration(Piix4PowerManagement.PmBaseAddress, 4, FirmwarePmBase);
        PowerManagement.WriteConfiguration(Piix4PowerManagement.PmRegisterMisc, 1, 1);
        PowerManagement.WriteConfiguration(Piix4PowerManagement.SmbusBaseAddress, 4, FirmwareSmbusBase);
        PowerManagement.WriteConfiguration(Piix4PowerManagement.SmbusHostConfiguration, 1, FirmwareSmbusHostConfiguration);
        int elcr = 0;
        for (int link = 0; link < Piix3IsaBridge.PirqLinkCount; link++)
        {
            IsaBridge.WriteConfiguration(Piix3IsaBridge.PirqRouteControl + link, 1, FirmwarePirqIrqs[link]);
            elcr |= 1 << FirmwarePirqIrqs[link];
        }

        ports.WriteByte(ElcrPort, (byte)(ports.ReadByte(ElcrPort) | elcr));
        ports.WriteByte(ElcrPort + 1, (byte)(ports.ReadByte(ElcrPort + 1) | (elcr >> 8)));
        foreach (PciDevice device in Bus.Devices)
        {
            if (device.Identity.InterruptPin != PciInterruptPin.None)
            {
                int link = Piix3IsaBridge.GetPirqLink(device.Address.Device, device.Identity.InterruptPin);
                device.WriteConfiguration(PciConfigurationRegisters.InterruptLine, 1, FirmwarePirqIrqs[link]);
            }
        }

        PowerManagement.WriteConfiguration(PciConfigurationRegisters.InterruptLine, 1, Piix4PowerManagement.SciIrq);
        Ide.WriteConfiguration(Piix3Ide.IdeTiming, 2, Piix3Ide.IdeDecodeEnable);
        Ide.WriteConfiguration(Piix3Ide.IdeTiming + 2, 2, Piix3Ide.IdeDecodeEnable);

        // SeaBIOS's pci_bios_init_device turns on I/O and memory decoding and SERR# in every function's command register
        // (under QEMU the IDE function then reads 0103h, with bus mastering still off: SeaBIOS itself uses PIO). Each
        // function keeps only the bits it implements (the PIIX3 IDE: I/O space), so its legacy ports 1F0h/170h decode
        // when the kernel starts. Cards whose BARs are still 0 stay unmapped.
        foreach (PciDevice device in Bus.Devices)
        {
            uint command = device.ReadConfiguration(PciConfigurationRegisters.Command, 2) | FirmwareCommandBits;
            device.WriteConfiguration(PciConfigurationRegisters.Command, 2, command);
        }
    }

    /// <summary>Binds the built memory map: BARs and PAM segments can be changed from now on.</summary>
    public void Bind(PhysicalMemoryMap memory)
    {
        _mapper.BindMemory(memory);
        _shadow.Bind(memory);
    }

    private static void AttachCard(PciBus bus, PciDevice card, int slot, string option)
    {
        if (slot is < FirstCardSlot or >= PciFunctionAddress.DevicesPerBus)
        {
            throw new MachineConfigurationException($"{option}: device number {slot} for '{card.Name}' is not free for cards (2-31; 0 and 1 are the chipset).");
        }

        try
        {
            bus.Attach(card, slot);
        }
        catch (InvalidOperationException e)
        {
            throw new MachineConfigurationException($"{option}: {e.Message}", e);
        }
    }

    /// <summary>The PAM target: the memory map, once built.</summary>
    private sealed class LateBoundShadowControl : IShadowMemoryControl
    {
        private PhysicalMemoryMap? _map;

        public void Bind(PhysicalMemoryMap map) => _map = map;

        public void SetShadowMode(string regionName, ShadowMode mode) =>
            (_map ?? throw new InvalidOperationException("The memory map is not built yet.")).SetShadowMode(regionName, mode);
    }
}
