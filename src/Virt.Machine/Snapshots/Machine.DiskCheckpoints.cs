using Virt.Devices;

namespace Virt.Machine;

/// <summary>The disks' side of <see cref="Checkpoint"/>, <see cref="Rewind"/> and <see cref="Fork"/>: copy-on-write overlays are checkpointed and forked with the machine.</summary>
public sealed partial class Machine
{
    /// <summary>
    /// The overlays to checkpoint with the machine, after refusing a writable drive that is not on one (a rewind could not
    /// take back the guest's writes to it) unless the caller accepted that.
    /// </summary>
    private List<(string Drive, CopyOnWriteBlockDevice Overlay)> CheckpointableOverlays(bool allowDisksByReference, string operation)
    {
        List<MachineDrive> drives = EnumerateDrives();
        if (!allowDisksByReference)
        {
            string[] direct = [.. drives.Where(d => d.Medium is { IsReadOnly: false } and not CopyOnWriteBlockDevice).Select(d => $"{d.Id} ('{d.Medium!.Name}')")];
            if (direct.Length > 0)
            {
                throw new InvalidOperationException(
                    $"Cannot {operation}: drive {string.Join(", ", direct)} is writable and not on a copy-on-write overlay, so the guest's writes go to the image " +
                    "itself and cannot be taken back or kept apart. Build the machine with WithDiskSnapshot (or give the drive a CopyOnWriteBlockDevice), " +
                    "or pass allowDisksByReference: true to leave that disk out (it then keeps whatever the guest writes).");
            }
        }

        return [.. drives.Where(d => d.Medium is CopyOnWriteBlockDevice).Select(d => (d.Id, (CopyOnWriteBlockDevice)d.Medium!))];
    }

    /// <summary>Refuses a rewind whose overlays are no longer the machine's or lost their checkpoint, before anything changes.</summary>
    private void CheckOverlaysCanRewind(MachineCheckpoint checkpoint)
    {
        List<MachineDrive> drives = EnumerateDrives();
        foreach ((string drive, CopyOnWriteBlockDevice overlay) in checkpoint.Overlays)
        {
            if (!drives.Any(d => d.Id == drive && ReferenceEquals(d.Medium, overlay)))
            {
                throw new InvalidOperationException($"Cannot rewind: drive {drive} holds another medium than at the checkpoint ('{overlay.Name}').");
            }

            if (!overlay.HasCheckpoint)
            {
                throw new InvalidOperationException($"Cannot rewind: the overlay of drive {drive} ('{overlay.Name}') lost its checkpoint (it was committed since).");
            }
        }
    }

    /// <summary>
    /// The media a fork's drives get: a fork of each copy-on-write overlay (in <see cref="MachineBuilder.DriveMedia.Owned"/>, so the fork
    /// disposes it), read-only media shared as they are, nothing for an empty drive. A writable medium without an overlay is
    /// refused: both machines would write the same image.
    /// </summary>
    private MachineBuilder.DriveMedia ForkDriveMedia()
    {
        var media = new MachineBuilder.DriveMedia();
        List<MachineDrive> drives = EnumerateDrives();

        // Refuse before any overlay is forked, so a refusal leaves the parent's overlays as they were.
        if (drives.FirstOrDefault(d => d.Medium is { IsReadOnly: false } and not CopyOnWriteBlockDevice) is { } direct)
        {
            throw new InvalidOperationException(
                $"Cannot fork: drive {direct.Id} ('{direct.Medium!.Name}') is writable and not on a copy-on-write overlay, so both machines would write the same image. " +
                "Build the machine with WithDiskSnapshot (or give the drive a CopyOnWriteBlockDevice).");
        }

        try
        {
            foreach (MachineDrive drive in drives)
            {
                IBlockDevice? medium = drive.Medium;
                if (medium is CopyOnWriteBlockDevice overlay)
                {
                    medium = overlay.Fork();
                    media.Owned.Add(medium);
                }

                media.Set(drive.Id, medium);
            }
        }
        catch
        {
            // A scratch file that could not be made: the forks made so far go.
            foreach (IDisposable made in media.Owned.OfType<IDisposable>())
            {
                made.Dispose();
            }

            throw;
        }

        return media;
    }
}
