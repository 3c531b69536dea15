using Virt.Devices.FwCfg;
using Virt.Machine.Smbios;

namespace Virt.Machine.Boot;

/// <summary>
/// Options of the fw_cfg device <see cref="MachineBuilder.WithFirmwareConfig"/> adds: what firmware such as SeaBIOS reads
/// besides what the machine derives itself (RAM size, e820 map, CPU count, SMBIOS, and the ACPI tables when
/// <see cref="MachineBuilder.WithAcpi"/> is on).
/// </summary>
public sealed record FirmwareConfigOptions
{
    /// <summary>The <c>bootorder</c> file: one OpenFirmware device path a line (QEMU's <c>bootindex</c> order); none when empty.</summary>
    public string BootOrder { get; init; } = string.Empty;

    /// <summary>The SMBIOS strings; the defaults describe Virt's pc machine.</summary>
    public SmbiosOptions Smbios { get; init; } = new();

    /// <summary>Whether to serve SMBIOS tables at all (default yes).</summary>
    public bool SmbiosEnabled { get; init; } = true;

    /// <summary>A Linux kernel (bzImage) for firmware that loads one through fw_cfg (QEMU's <c>-bios</c> with <c>-kernel</c>), or null.</summary>
    public string? KernelPath { get; init; }

    /// <summary>An initial ramdisk to go with <see cref="KernelPath"/>, or null.</summary>
    public string? InitrdPath { get; init; }

    /// <summary>The kernel command line to go with <see cref="KernelPath"/>.</summary>
    public string CommandLine { get; init; } = string.Empty;

    /// <summary>The ports and DMA switch of the device; QEMU's x86 defaults.</summary>
    public FwCfgOptions Device { get; init; } = new();
}
