namespace Virt.Machine.Smbios;

/// <summary>
/// Generated SMBIOS data as QEMU hands it to SeaBIOS: the 31-byte SMBIOS 2.8 entry point (<c>etc/smbios/smbios-anchor</c>,
/// its structure table address left 0 for the firmware to fill in) and the structure table
/// (<c>etc/smbios/smbios-tables</c>).
/// </summary>
/// <param name="Anchor">The entry point.</param>
/// <param name="Tables">The structures, ending with type 127.</param>
/// <param name="StructureCount">The number of structures.</param>
public sealed record SmbiosTables(byte[] Anchor, byte[] Tables, int StructureCount)
{
    /// <summary>The fw_cfg file of the entry point.</summary>
    public const string AnchorFile = "etc/smbios/smbios-anchor";

    /// <summary>The fw_cfg file of the structure table.</summary>
    public const string TablesFile = "etc/smbios/smbios-tables";
}
