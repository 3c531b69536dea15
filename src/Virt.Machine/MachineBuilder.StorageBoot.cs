using Virt.Devices;
using Virt.Machine.Boot;

namespace Virt.Machine;

/// <summary>The boot-order and disk-snapshot options of the builder (QEMU's <c>-boot order=</c> and <c>-snapshot</c>).</summary>
public sealed partial class MachineBuilder
{
    private string? _bootOrder;
    private bool _diskSnapshot;
    private string? _diskSnapshotDirectory;

    /// <summary>
    /// Puts every writable drive on a temporary copy-on-write overlay, as QEMU's <c>-snapshot</c> does: IDE disks and
    /// floppies whose device is not read-only (CD-ROMs and read-only devices need none). The guest reads and writes as
    /// usual; its writes go to the overlay, which the machine creates at <see cref="Build"/> and throws away when it is
    /// disposed, so the host's devices (the image files) are never written. Default: off.
    /// </summary>
    /// <remarks>
    /// The overlay is a <see cref="CopyOnWriteBlockDevice"/>: in host memory (up to
    /// <see cref="CopyOnWriteBlockDevice.DefaultMemoryBudgetInBytes"/> per drive, after which guest writes fail as on a full
    /// disk) or, with <paramref name="scratchDirectory"/>, in a sparse scratch file there, deleted when the machine is
    /// disposed. <see cref="Machine.Checkpoint"/> and <see cref="Machine.Rewind"/> take the overlays back too, and
    /// <see cref="Machine.Fork"/> gives the fork overlays of its own over the parent's (<see cref="CopyOnWriteBlockDevice.Fork"/>).
    /// </remarks>
    /// <param name="enabled">Whether to add the overlays.</param>
    /// <param name="scratchDirectory">A directory for scratch files, or null to keep the overlays in memory.</param>
    /// <returns>This builder.</returns>
    public MachineBuilder WithDiskSnapshot(bool enabled = true, string? scratchDirectory = null)
    {
        if (scratchDirectory is not null)
        {
            ArgumentException.ThrowIfNullOrEmpty(scratchDirectory);
        }

        _diskSnapshot = enabled;
        _diskSnapshotDirectory = scratchDirectory;
        return this;
    }

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
        _diskSnapshot = other._diskSnapshot;
        _diskSnapshotDirectory = other._diskSnapshotDirectory;
    }

    /// <summary>Whether <see cref="WithDiskSnapshot"/> is on and some drive is writable, so the machine has overlays.</summary>
    private bool HasDiskSnapshotOverlays =>
        _diskSnapshot && (_ideDrives.Any(d => d is { Media: IdeMediaKind.Disk, Medium.IsReadOnly: false }) || _floppyDrives.Any(d => d is { IsReadOnly: false }));

    /// <summary>
    /// The configuration to build from: this one, or with <see cref="WithDiskSnapshot"/> a copy whose writable drives are
    /// overlays over the host's devices (added to <paramref name="created"/>, so the machine disposes them; the host's
    /// devices stay open, they are the host's).
    /// </summary>
    private MachineBuilder WithSnapshotOverlays(List<object> created)
    {
        if (!HasDiskSnapshotOverlays)
        {
            return this;
        }

        var copy = new MachineBuilder(this);
        for (int i = 0; i < copy._ideDrives.Length; i++)
        {
            if (copy._ideDrives[i] is { Media: IdeMediaKind.Disk, Medium: { IsReadOnly: false } disk } drive)
            {
                copy._ideDrives[i] = drive with { Medium = CreateSnapshotOverlay(disk, $"ide{i}", created) };
            }
        }

        for (int i = 0; i < copy._floppyDrives.Length; i++)
        {
            if (copy._floppyDrives[i] is { IsReadOnly: false } floppy)
            {
                copy._floppyDrives[i] = CreateSnapshotOverlay(floppy, $"fd{i}", created);
            }
        }

        return copy;
    }

    private CopyOnWriteBlockDevice CreateSnapshotOverlay(IBlockDevice device, string drive, List<object> created)
    {
        CopyOnWriteBlockDevice overlay;
        if (_diskSnapshotDirectory is { } directory)
        {
            string path = Path.Combine(directory, $"virt-snapshot-{Environment.ProcessId}-{Guid.NewGuid():N}-{drive}.overlay");
            try
            {
                overlay = CopyOnWriteBlockDevice.CreateWithFile(device, path, leaveBaseOpen: true);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new MachineConfigurationException($"WithDiskSnapshot: cannot create the scratch file '{path}' for '{device.Name}': {e.Message}", e);
            }
        }
        else
        {
            overlay = new CopyOnWriteBlockDevice(device, leaveBaseOpen: true);
        }

        created.Add(overlay);
        return overlay;
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
