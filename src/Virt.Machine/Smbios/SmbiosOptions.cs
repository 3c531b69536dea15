namespace Virt.Machine.Smbios;

/// <summary>
/// What the SMBIOS tables say about the machine (the strings of types 0, 1, 3, 4 and 17). The defaults follow QEMU's pc
/// machine with Virt's name: QEMU writes no type 0 (BIOS information) unless asked, and SeaBIOS then adds its own, which
/// is right since the firmware knows its version.
/// </summary>
public sealed record SmbiosOptions
{
    /// <summary>The system and chassis manufacturer (type 1, 3, 4 and 17).</summary>
    public string Manufacturer { get; init; } = "Virt";

    /// <summary>The product name (type 1).</summary>
    public string ProductName { get; init; } = "Standard PC (i440FX + PIIX, 1996)";

    /// <summary>The system version (types 1, 3 and 4; QEMU puts its machine type here).</summary>
    public string Version { get; init; } = "pc";

    /// <summary>The system UUID (type 1); all zeros when unset, as QEMU without <c>-uuid</c>.</summary>
    public Guid Uuid { get; init; }

    /// <summary>The BIOS vendor; when null (the default) no type 0 is written and the firmware adds its own.</summary>
    public string? BiosVendor { get; init; }

    /// <summary>The BIOS version (type 0, when <see cref="BiosVendor"/> is set).</summary>
    public string BiosVersion { get; init; } = "1.0";

    /// <summary>The BIOS release date, MM/DD/YYYY (type 0, when <see cref="BiosVendor"/> is set).</summary>
    public string BiosReleaseDate { get; init; } = "01/01/2025";

    /// <summary>The processor speed in MHz reported by type 4 (QEMU's default 2000: 0 would mean unknown, which some validators reject).</summary>
    public ushort ProcessorSpeedInMegahertz { get; init; } = 2000;
}
