namespace Virt.Run.CommandLine;

/// <summary>A PCI card asked for with <c>-device</c> (other than the VGA, which sets <see cref="RunOptions.Vga"/>).</summary>
public sealed record PciCardOptions
{
    /// <summary>The device name as QEMU spells it, for example <c>edu</c>.</summary>
    public required string Driver { get; init; }

    /// <summary>The device number on bus 0 (<c>addr=</c>), or null for the first free one.</summary>
    public int? Slot { get; init; }

    /// <summary>The edu card's DMA mask (<c>dma_mask=</c>).</summary>
    public ulong DmaMask { get; init; } = Virt.Devices.EduDevice.DefaultDmaMask;
}
