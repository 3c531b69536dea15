using Microsoft.Extensions.Logging;
using Virt.Devices;

namespace Virt.Machine;

/// <summary>The floppy drives of the builder; the 8237 DMA pair they use is on every board.</summary>
public sealed partial class MachineBuilder
{
    private readonly IBlockDevice?[] _floppyDrives = new IBlockDevice?[Floppy82077.DriveCount];

    /// <summary>
    /// Connects a floppy drive holding <paramref name="device"/> to the board's 82077AA-compatible floppy controller
    /// (3F0h-3F5h and 3F7h, IRQ 6, DMA channel 2), which the machine gets with its first drive, and sets the drive's type
    /// in CMOS byte 10h (and the equipment byte 14h) from the medium's size, as QEMU's <c>-fda</c> does: 160 KB, 180 KB,
    /// 320 KB and 360 KB media go in a 360 KB drive, 720 KB, 1.2 MB, 1.44 MB and 2.88 MB media in the drive of their
    /// size. A read-only device is a write-protected disk. The host keeps ownership of the device (the machine does not
    /// dispose it). See docs/floppy.md.
    /// </summary>
    /// <param name="index">0 for A:, 1 for B:.</param>
    /// <param name="device">The medium: 512-byte sectors, one of the sizes above (checked by <see cref="Build"/>).</param>
    /// <returns>This builder.</returns>
    public MachineBuilder WithFloppyDrive(int index, IBlockDevice device)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, Floppy82077.DriveCount);
        _floppyDrives[index] = device ?? throw new ArgumentNullException(nameof(device));
        return this;
    }

    /// <summary>Checks each floppy medium's sector size and capacity against the supported media.</summary>
    private void ValidateFloppyDrives()
    {
        for (int i = 0; i < _floppyDrives.Length; i++)
        {
            if (_floppyDrives[i] is not { } device)
            {
                continue;
            }

            if (device.SectorSize != FloppyGeometry.SectorSizeInBytes)
            {
                throw new MachineConfigurationException($"WithFloppyDrive({i}): '{device.Name}' has {device.SectorSize}-byte sectors; a floppy has {FloppyGeometry.SectorSizeInBytes}-byte sectors.");
            }

            try
            {
                _ = FloppyGeometry.FromCapacity(device.CapacityInBytes);
            }
            catch (ArgumentException e)
            {
                throw new MachineConfigurationException($"WithFloppyDrive({i}): '{device.Name}': {e.Message}", e);
            }
        }
    }

    /// <summary>The 8237 pair (always) and, with a drive, the floppy controller; the CMOS drive types either way.</summary>
    private void AddDmaAndFloppy(List<IDevice> devices, Virt.Memory.IGuestMemory memory, IsaInterruptRouting irqs, IVirtualClock clock, Rtc146818 rtc)
    {
        var dma = new Dma8237(memory, _loggerFactory.CreateLogger<Dma8237>());
        devices.Add(dma);
        CmosFloppyDriveType[] types = [.. _floppyDrives.Select(d => d is null ? CmosFloppyDriveType.None : FloppyGeometry.FromCapacity(d.CapacityInBytes).DriveType)];
        rtc.SetEquipment(types[0], types[1]);
        if (_floppyDrives.All(d => d is null))
        {
            return;
        }

        devices.Add(new Floppy82077(clock, irqs.CreateLine(Floppy82077.Irq, "FDC"), dma.GetChannel(Floppy82077.DmaChannel), _floppyDrives, _loggerFactory.CreateLogger<Floppy82077>()));
    }
}
