namespace Virt.Devices;

/// <summary>The drives and the variant of a <see cref="Piix3Ide"/>.</summary>
public sealed record Piix3IdeOptions
{
    /// <summary>The number of drive positions: primary master and slave, secondary master and slave.</summary>
    public const int DrivePositions = 4;

    /// <summary>The drives by position (0-3: primary master, primary slave, secondary master, secondary slave); null or missing entries are empty.</summary>
    public IReadOnlyList<IdeDriveConfiguration?> Drives { get; init; } = [];

    /// <summary>
    /// Whether the channels can be switched to PCI native mode (programming interface 8Ah instead of the PIIX3's 80h):
    /// bits 0 and 2 become writable, BARs 0-3 decode the channels and they interrupt on INTA#. Off by default, as on a
    /// real PIIX3 and QEMU's, whose channels are fixed in compatibility mode.
    /// </summary>
    public bool NativeModeCapable { get; init; }

    /// <summary>Throws when a drive's configuration cannot work or there are more than four.</summary>
    /// <param name="what">The option name for messages.</param>
    public void Validate(string what)
    {
        ArgumentNullException.ThrowIfNull(Drives, nameof(Drives));
        if (Drives.Count > DrivePositions)
        {
            throw new ArgumentException($"{what}: {Drives.Count} IDE drives; the PIIX3 has {DrivePositions} positions.", nameof(Drives));
        }

        for (int i = 0; i < Drives.Count; i++)
        {
            Drives[i]?.Validate($"{what} (IDE drive {i})");
        }
    }

    internal IdeDriveConfiguration? DriveAt(int position) => position < Drives.Count ? Drives[position] : null;
}
