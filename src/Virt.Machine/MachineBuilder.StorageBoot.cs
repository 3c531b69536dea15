using Virt.Machine.Boot;

namespace Virt.Machine;

/// <summary>The boot-order and disk-snapshot options of the builder (QEMU's <c>-boot order=</c> and <c>-snapshot</c>).</summary>
public sealed partial class MachineBuilder
{
    private string? _bootOrder;

    /// <summary>
    /// Sets the order in which the firmware tries the boot devices, in QEMU's <c>-boot order=</c> letters: <c>a</c> the
    /// floppy, <c>c</c> the hard disk, <c>d</c> the CD-ROM, <c>n</c> the network; at most three, no repeats (for example
    /// <c>"dc"</c>: the CD, then the disk). Default: <see cref="FirmwareConfigOptions.LegacyBootOrder"/> with
    /// <see cref="WithFirmwareConfig"/> (QEMU's <c>cad</c>), none without.
    /// </summary>
    /// <remarks>
    /// The order goes where QEMU's pc machine puts it and SeaBIOS reads it: the CMOS boot-order bytes 3Dh and 38h (see
    /// <see cref="CmosBootOrder"/>), which SeaBIOS turns into the priorities of its floppy, hard-disk, CD and network
    /// entries when it runs on an emulator (its <c>boot.c</c>, under CONFIG_QEMU). fw_cfg's FW_CFG_BOOT_DEVICE item is not
    /// used: QEMU sets it only for other machines' firmware (OpenBIOS), and SeaBIOS never reads it. The fw_cfg
    /// <c>bootorder</c> file (<see cref="FirmwareConfigOptions.BootOrder"/>) is QEMU's per-device <c>bootindex</c> list,
    /// which overrides these priorities for the devices it names.
    /// </remarks>
    /// <param name="order">The letters; validated by <see cref="Build"/>.</param>
    /// <returns>This builder.</returns>
    public MachineBuilder WithBootOrder(string order)
    {
        _bootOrder = order ?? throw new ArgumentNullException(nameof(order));
        return this;
    }

    /// <summary>The boot order written to CMOS: <see cref="WithBootOrder"/>'s, else the fw_cfg options' legacy order, else none.</summary>
    private string? EffectiveBootOrder => _bootOrder ?? _firmwareConfig?.LegacyBootOrder;

    private void CopyStorageBootConfiguration(MachineBuilder other)
    {
        _bootOrder = other._bootOrder;
    }

    private void ValidateStorageBootOptions()
    {
        if (_bootOrder is { } order)
        {
            try
            {
                _ = CmosBootOrder.Encode(order);
            }
            catch (ArgumentException e)
            {
                throw new MachineConfigurationException(MachineSetting.BootOrder, $"WithBootOrder: {e.Message}", e);
            }
        }
    }
}
