namespace Virt.Devices;

/// <summary>Ports and names of a <see cref="Pic8259Pair"/>. The defaults are the PC/AT ones.</summary>
public sealed record Pic8259Options
{
    /// <summary>The master's command port; its data port follows (default 20h).</summary>
    public ushort MasterPort { get; init; } = 0x20;

    /// <summary>The slave's command port; its data port follows (default A0h).</summary>
    public ushort SlavePort { get; init; } = 0xA0;

    /// <summary>The two edge/level control registers (PIIX/ICH ELCR1, ELCR2; default 4D0h), or null for none (ISA-only boards).</summary>
    public ushort? ElcrPort { get; init; } = 0x4D0;

    /// <summary>The master's vector base before the firmware programs it (default 08h, the IBM PC value).</summary>
    public byte MasterPowerOnVectorBase { get; init; } = 0x08;

    /// <summary>The slave's vector base before the firmware programs it (default 70h).</summary>
    public byte SlavePowerOnVectorBase { get; init; } = 0x70;
}
