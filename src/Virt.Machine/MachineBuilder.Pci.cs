using Virt.Devices;

namespace Virt.Machine;

/// <summary>The PCI board options of the builder.</summary>
public sealed partial class MachineBuilder
{
    private readonly List<(Func<MachineDeviceContext, PciDevice> Factory, int? Slot)> _pciDevices = [];
    private bool _pciBus;

    /// <summary>Whether the machine gets the PCI board (<see cref="WithPciBus"/>).</summary>
    internal bool PciBusEnabled => _pciBus;

    /// <summary>
    /// Gives the machine the PCI board of QEMU's <c>pc</c> machine (the default on <see cref="MachineBoard.Pc"/>; see <see cref="WithBoard"/>): PCI configuration mechanism
    /// #1 at CF8h/CFCh; bus 0 with an i440FX host bridge at 00.0 (PAM shadowing of C0000h-FFFFFh, SMRAM register), a
    /// PIIX3 ISA bridge at 01.0 (PIRQ routing of PCI interrupts to the 8259s), the PIIX3 IDE function at 01.1 (with the
    /// drives of <see cref="WithIdeDrive"/>) and the PIIX4 power-management function
    /// at 01.3 (ACPI PM1 registers, PM timer, SCI on IRQ 9, GPE0 at AFE0h, power-off through SLP_EN); and the cards added
    /// with <see cref="AddPciDevice"/>. See docs/pci.md.
    /// </summary>
    /// <param name="enabled">Whether to add the PCI board.</param>
    /// <returns>This builder.</returns>
    public MachineBuilder WithPciBus(bool enabled = true)
    {
        _pciBus = enabled;
        MarkExplicit(BoardSettings.PciBus);
        return this;
    }

    /// <summary>
    /// Adds a host-defined PCI card (see <see cref="PciDevice"/>) on bus 0: its BARs, expansion ROM, INTx# routing and
    /// DMA are wired by the board, so the card needs nothing else. Needs <see cref="WithPciBus"/>.
    /// </summary>
    /// <param name="factory">Creates the card (it defines its BARs in its constructor).</param>
    /// <param name="deviceNumber">The device number (2-31), or null for the first free one from 2.</param>
    /// <returns>This builder.</returns>
    public MachineBuilder AddPciDevice(Func<MachineDeviceContext, PciDevice> factory, int? deviceNumber = null)
    {
        ArgumentNullException.ThrowIfNull(factory);
        if (deviceNumber is { } slot && (slot < PciBoard.FirstCardSlot || slot >= PciFunctionAddress.DevicesPerBus))
        {
            throw new ArgumentOutOfRangeException(nameof(deviceNumber), deviceNumber, "PCI cards take device numbers 2-31 (0 and 1 are the chipset).");
        }

        _pciDevices.Add((factory, deviceNumber));
        return this;
    }

    /// <summary>Creates the PCI board and the host's cards, or returns null without the PCI bus.</summary>
    private PciBoard? CreatePciBoard(Virt.Memory.IoPortSpace ports, Virt.Memory.IGuestMemory memory, IsaInterruptRouting irqs, ApicBoard? apic, IVirtualClock clock, IPlatformControl platform, MachineDeviceContext context, List<object> created, (PciDevice Device, int? Slot, string Option)? vgaCard)
    {
        if (!_pciBus)
        {
            if (_pciDevices.Count > 0)
            {
                throw new MachineConfigurationException("AddPciDevice: the machine has no PCI bus; call WithPciBus() as well.");
            }

            return null;
        }

        var cards = new List<(PciDevice Device, int? Slot, string Option)>();
        if (vgaCard is { } vga)
        {
            cards.Add(vga);
        }

        for (int i = 0; i < _pciDevices.Count; i++)
        {
            string option = $"AddPciDevice (card {i + 1})";
            PciDevice card = CreateCustomDevice(option, _pciDevices[i].Factory, context, created);
            if (card.IsAttached)
            {
                throw new MachineConfigurationException($"{option}: the device factory returned '{card.Name}', which is already attached to a bus.");
            }

            cards.Add((card, _pciDevices[i].Slot, option));
        }

        return PciBoard.Create(ports, memory, irqs, apic, clock, platform, _loggerFactory, IdeOptions, cards);
    }
}
