using Virt.Devices;
using Virt.Machine;
using Virt.Run.CommandLine;

namespace Virt.Run;

/// <summary>
/// Opens the drives of the command line as block devices and puts them on the builder, checking each before the machine
/// is built: the file exists and opens, its format is the one named (or probed), a floppy image has a floppy's size. Every
/// error names the option and the file.
/// </summary>
public static class DriveOpener
{
    /// <summary>The sector size of CD media.</summary>
    private const int CdromSectorSize = 2048;

    /// <summary>The sector size of disks and floppies.</summary>
    private const int DiskSectorSize = 512;

    /// <summary>Opens every drive and adds it to the builder, with <c>-snapshot</c> and <c>-boot</c>.</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="options">The parsed options.</param>
    /// <param name="disposables">Takes the opened devices (the host's; the machine does not dispose them).</param>
    /// <param name="warnings">Where warnings go (QEMU's raw-probing warning), one line each.</param>
    /// <exception cref="RunOptionsException">A file is missing, cannot be opened, or is not a valid image of its format or size.</exception>
    public static void Configure(MachineBuilder builder, RunOptions options, DisposableList disposables, TextWriter warnings)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(disposables);
        ArgumentNullException.ThrowIfNull(warnings);
        foreach (DriveOptions drive in options.Drives)
        {
            IBlockDevice device = disposables.Add(Open(drive, warnings));
            if (drive.Interface == DriveInterface.Floppy)
            {
                builder.WithFloppyDrive(drive.Index, device);
            }
            else
            {
                builder.WithIdeDrive(drive.Index, device, drive.Media == DriveMedia.Cdrom ? IdeMediaKind.Cdrom : IdeMediaKind.Disk);
            }
        }

        if (options.Snapshot)
        {
            // As QEMU's -snapshot: the overlays are scratch files in the temporary directory, deleted at exit.
            builder.WithDiskSnapshot(scratchDirectory: Path.GetTempPath());
        }

        if (options.BootOrder is { } order)
        {
            builder.WithBootOrder(order);
        }
    }

    /// <summary>Opens one drive's image.</summary>
    /// <param name="drive">The drive.</param>
    /// <param name="warnings">Where the raw-probing warning goes.</param>
    /// <returns>The device.</returns>
    /// <exception cref="RunOptionsException">The file is missing, cannot be opened, or is not a valid image.</exception>
    public static IBlockDevice Open(DriveOptions drive, TextWriter warnings)
    {
        ArgumentNullException.ThrowIfNull(drive);
        ArgumentNullException.ThrowIfNull(warnings);
        if (!File.Exists(drive.Path))
        {
            throw new RunOptionsException(Directory.Exists(drive.Path) ? $"{drive.Describe()}: is a directory, not an image file" : $"{drive.Describe()}: the file does not exist");
        }

        IBlockDevice? device = null;
        try
        {
            DiskImageFormat format = drive.Format switch
            {
                DriveFormat.Raw => DiskImageFormat.Raw,
                DriveFormat.Qcow2 => DiskImageFormat.Qcow2,
                _ => DiskImage.Probe(drive.Path),
            };
            if (format == DiskImageFormat.Qcow2 && drive.Media == DriveMedia.Cdrom)
            {
                throw new RunOptionsException($"{drive.Describe()}: a CD image must be raw (an ISO file), not qcow2");
            }

            int sectorSize = drive.Media == DriveMedia.Cdrom ? CdromSectorSize : DiskSectorSize;
            device = DiskImage.Open(drive.Path, format, drive.ReadOnly, sectorSize);
            if (drive.Format is null && format == DiskImageFormat.Raw && !drive.ReadOnly)
            {
                // QEMU's warning and its protection: a guest that wrote an image header into sector 0 would make the next
                // probe read the file as that format, with a backing file of the guest's choosing.
                warnings.WriteLine(
                    $"Virt.Run: warning: {drive.Describe()}: the format was not given and probing guessed raw; writes to sector 0 that would make the image "
                    + "look like a qcow2 image are refused. Give the format (-drive file=...,format=raw) to lift the restriction.");
                device = new ProbedRawImageGuard(device);
            }

            if (drive.Interface == DriveInterface.Floppy && !FloppyGeometry.Known.Any(g => g.CapacityInBytes == device.CapacityInBytes))
            {
                throw new RunOptionsException(
                    $"{drive.Describe()}: {device.CapacityInBytes} bytes is not the size of a floppy disk ({string.Join(", ", FloppyGeometry.Known.Select(g => g.CapacityInBytes / 1024).Distinct().Select(k => $"{k} KiB"))})");
            }

            return device;
        }
        catch (Exception e) when (e is DiskImageFormatException or IOException or UnauthorizedAccessException or ArgumentException or RunOptionsException)
        {
            device?.Dispose();
            throw e switch
            {
                RunOptionsException options => options,
                DiskImageFormatException format => new RunOptionsException($"{drive.Describe()}: {WithoutPath(format.Message, drive.Path)}", format),
                _ => new RunOptionsException($"{drive.Describe()}: cannot open: {WithoutPath(e.Message, drive.Path)}", e),
            };
        }
    }

    /// <summary>The message without a leading <c>'path': </c>, which the option's description already gives.</summary>
    private static string WithoutPath(string message, string path)
    {
        string prefix = $"'{path}': ";
        return message.StartsWith(prefix, StringComparison.Ordinal) ? message[prefix.Length..] : message;
    }
}
