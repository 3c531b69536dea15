using Microsoft.Extensions.Logging;
using Virt.Devices;

namespace Virt.Machine;

/// <summary>The storage options of the builder: IDE disks and CD-ROM drives.</summary>
public sealed partial class MachineBuilder
{
    private readonly IdeDriveConfiguration?[] _ideDrives = new IdeDriveConfiguration?[Piix3IdeOptions.DrivePositions];

    /// <summary>The IDE drives as the controllers take them.</summary>
    internal Piix3IdeOptions IdeOptions => new() { Drives = [.. _ideDrives] };

    /// <summary>
    /// Puts a drive on the IDE controller: on the PCI board (<see cref="WithPciBus"/>) the PIIX3 IDE function at 01.1,
    /// otherwise a plain ISA IDE controller on the same legacy ports (PIO only). The disk's geometry and translation go
    /// into the CMOS as QEMU's firmware expects them. The machine uses the device on its own thread and does not
    /// dispose of it; a fork (<see cref="Machine.Fork"/>) shares it with its parent, so give forked machines
    /// copy-on-write overlays. See docs/ide.md.
    /// </summary>
    /// <param name="index">0 primary master, 1 primary slave, 2 secondary master, 3 secondary slave (QEMU's <c>-drive index=</c>).</param>
    /// <param name="device">The backend: 512-byte sectors for a disk; for a CD, sectors that divide 2048 bytes.</param>
    /// <param name="media">A disk (ATA) or a CD-ROM drive (ATAPI).</param>
    /// <returns>This builder.</returns>
    /// <exception cref="ArgumentOutOfRangeException">When <paramref name="index"/> is not 0-3.</exception>
    /// <exception cref="ArgumentException">When the device does not fit the media kind.</exception>
    public MachineBuilder WithIdeDrive(int index, IBlockDevice device, IdeMediaKind media = IdeMediaKind.Disk)
    {
        CheckIdeIndex(index);
        ArgumentNullException.ThrowIfNull(device);
        var drive = new IdeDriveConfiguration(media, device);
        drive.Validate($"WithIdeDrive({index})");
        _ideDrives[index] = drive;
        return this;
    }

    /// <summary>
    /// Puts an empty CD-ROM drive on the IDE controller (QEMU's <c>pc</c> machine has one at index 2); the host can
    /// insert a disc later through <see cref="Piix3Ide.ChangeMedium"/>.
    /// </summary>
    /// <param name="index">0-3, as for <see cref="WithIdeDrive"/>.</param>
    /// <returns>This builder.</returns>
    public MachineBuilder WithEmptyIdeCdrom(int index)
    {
        CheckIdeIndex(index);
        _ideDrives[index] = new IdeDriveConfiguration(IdeMediaKind.Cdrom, null);
        return this;
    }

    private static void CheckIdeIndex(int index)
    {
        if (index is < 0 or >= Piix3IdeOptions.DrivePositions)
        {
            throw new ArgumentOutOfRangeException(nameof(index), index, "WithIdeDrive: the index is 0-3 (primary master, primary slave, secondary master, secondary slave).");
        }
    }

    private void CopyStorageConfiguration(MachineBuilder other) => other._ideDrives.CopyTo(_ideDrives, 0);

    /// <summary>The ISA board's IDE controller when the host gave drives and there is no PCI board (which has its own), or null.</summary>
    private IsaIdeController? CreateIsaIde(IsaInterruptRouting irqs)
    {
        if (_pciBus || Array.TrueForAll(_ideDrives, d => d is null))
        {
            return null;
        }

        return new IsaIdeController(IdeOptions, irqs.CreateLine(Piix3Ide.PrimaryIrq, "IDE primary"), irqs.CreateLine(Piix3Ide.SecondaryIrq, "IDE secondary"), _loggerFactory.CreateLogger<IsaIdeController>());
    }
}
