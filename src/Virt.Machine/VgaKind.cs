namespace Virt.Machine;

/// <summary>Which display adapter the board gets (<see cref="MachineBuilder.WithVga"/>; Virt.Run <c>-vga</c>).</summary>
public enum VgaKind
{
    /// <summary>
    /// The VGA on the ISA side (the default on <see cref="MachineBoard.IsaPc"/>): the VGA ports, the A0000h-BFFFFh window and the Bochs VBE
    /// ports 1CEh/1CFh with the bank window, but no linear framebuffer (it needs a PCI BAR) and no option ROM.
    /// </summary>
    Isa,

    /// <summary>
    /// QEMU's <c>std</c> VGA (<c>-vga std</c>): the same adapter as a PCI function 1234:1111 at 00:02.0 with the linear
    /// framebuffer in BAR0, the MMIO registers in BAR2 and the VGA BIOS in the expansion ROM. Needs the PCI bus; the default on <see cref="MachineBoard.Pc"/>.
    /// </summary>
    Standard,

    /// <summary>No display adapter (<c>-vga none</c>): the ports and the window are open bus.</summary>
    None,
}
