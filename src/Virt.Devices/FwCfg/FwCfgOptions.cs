namespace Virt.Devices.FwCfg;

/// <summary>Options of the <see cref="FwCfgDevice"/>; the defaults are QEMU's x86 ports.</summary>
public sealed record FwCfgOptions
{
    /// <summary>QEMU's selector port on x86 (the data port follows it).</summary>
    public const ushort DefaultSelectorPort = 0x510;

    /// <summary>QEMU's DMA address port on x86 (8 ports: the high 32 bits, then the low 32 bits that start a transfer).</summary>
    public const ushort DefaultDmaPort = 0x514;

    /// <summary>The selector port (16-bit writes); the data port is the next one.</summary>
    public ushort SelectorPort { get; init; } = DefaultSelectorPort;

    /// <summary>The first DMA address port.</summary>
    public ushort DmaPort { get; init; } = DefaultDmaPort;

    /// <summary>Whether the DMA interface is present (advertised in <see cref="FwCfgKeys.Id"/>).</summary>
    public bool DmaEnabled { get; init; } = true;

    /// <summary>The device name for messages and snapshots.</summary>
    public string Name { get; init; } = "fw_cfg";
}
