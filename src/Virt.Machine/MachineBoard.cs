namespace Virt.Machine;

/// <summary>The board a <see cref="MachineBuilder"/> starts from (<see cref="MachineBuilder.WithBoard"/>; Virt.Run <c>-M</c>).</summary>
public enum MachineBoard
{
    /// <summary>
    /// QEMU's <c>pc</c> machine (the default): the PCI bus (i440FX host bridge, PIIX3 ISA bridge and IDE, PIIX4 power
    /// management), the local APIC and the I/O APIC, the HPET, fw_cfg, ACPI tables and the std VGA card, beside the ISA
    /// devices every PC has.
    /// </summary>
    Pc,

    /// <summary>
    /// QEMU's <c>isapc</c> machine: the ISA PC/AT of the 1990s, with no PCI bus, no APIC, no HPET, no fw_cfg and no ACPI
    /// tables; the VGA sits on the ISA side and the IDE controller at its ISA ports.
    /// </summary>
    IsaPc,
}
