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

    /// <summary>
    /// The legacy boot order in QEMU's <c>-boot order=</c> letters (<c>a</c> floppy, <c>c</c> hard disk, <c>d</c> CD-ROM,
    /// <c>n</c> network; at most three, no repeats), stored in CMOS bytes 3Dh and 38h where SeaBIOS on an emulator looks
    /// for it. Default <c>"cad"</c>, QEMU's default: hard disk, floppy, CD-ROM. Empty leaves the bytes zero (SeaBIOS then
    /// tries the floppy first).
    /// </summary>
    public string LegacyBootOrder { get; init; } = "cad";

    /// <summary>
    /// The serial port SeaBIOS mirrors its screen to (its serial console, fw_cfg file <c>etc/sercon-port</c>), or null
    /// for none. QEMU sets 3F8h when the machine has no graphics (<c>-nographic</c>), which is how SeaBIOS's banner and
    /// boot messages reach the serial line.
    /// </summary>
    public ushort? SerialConsolePort { get; init; }

    /// <summary>
    /// How long SeaBIOS waits after "No bootable device" before it resets (fw_cfg file <c>etc/boot-fail-wait</c>), in
    /// milliseconds; null waits for ever, QEMU's default (it writes -1 unless <c>-boot reboot-timeout</c> is given).
    /// </summary>
    public uint? BootFailWaitMilliseconds { get; init; }

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
