using System.Text;
using Virt.Machine.Boot;

namespace Virt.Run.CommandLine;

/// <summary>The storage options: <c>-hda</c>..<c>-hdd</c>, <c>-fda</c>/<c>-fdb</c>, <c>-cdrom</c>, <c>-drive</c>, <c>-snapshot</c>, <c>-boot</c>.</summary>
public static partial class RunOptionsParser
{
    /// <summary>The IDE index of <c>-cdrom</c>: QEMU puts it on the secondary channel's master.</summary>
    private const int CdromIndex = 2;

    /// <summary>Drives on the PIIX3's IDE controller: two channels, a master and a slave on each.</summary>
    private const int IdeDriveCount = 4;

    /// <summary>Drives on the floppy controller as the PC's BIOS knows them: A: and B:.</summary>
    private const int FloppyDriveCount = 2;

    /// <summary>The <c>-drive</c> properties Virt understands.</summary>
    private static readonly string[] s_driveProperties = ["file", "format", "if", "index", "media", "readonly"];

    /// <summary>A drive as written, before indexes are assigned: whether the user gave the index or QEMU's rule picks it.</summary>
    private sealed record DriveRequest(DriveOptions Drive, bool IndexGiven);

    /// <summary>The number of drives an interface takes.</summary>
    /// <param name="kind">The interface.</param>
    /// <returns>4 for IDE, 2 for the floppy controller.</returns>
    public static int DriveCount(DriveInterface kind) => kind == DriveInterface.Ide ? IdeDriveCount : FloppyDriveCount;

    /// <summary>
    /// Splits a QEMU option string into its <c>key=value</c> properties: properties are separated by commas, and a doubled
    /// comma stands for a comma inside a value (so <c>file=a,,b.img</c> names <c>a,b.img</c>).
    /// </summary>
    /// <param name="text">The option's value.</param>
    /// <returns>The properties in order; a property without <c>=</c> has an empty value and <c>HasValue</c> false.</returns>
    public static IReadOnlyList<(string Key, string Value, bool HasValue)> SplitProperties(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var properties = new List<(string, string, bool)>();
        var current = new StringBuilder();
        for (int i = 0; i <= text.Length; i++)
        {
            if (i < text.Length && text[i] == ',' && i + 1 < text.Length && text[i + 1] == ',')
            {
                current.Append(',');
                i++;
                continue;
            }

            if (i == text.Length || text[i] == ',')
            {
                string property = current.ToString();
                current.Clear();
                if (property.Length == 0)
                {
                    continue;
                }

                int eq = property.IndexOf('=', StringComparison.Ordinal);
                properties.Add(eq < 0 ? (property, string.Empty, false) : (property[..eq], property[(eq + 1)..], true));
                continue;
            }

            current.Append(text[i]);
        }

        return properties;
    }

    /// <summary>
    /// Parses <c>-drive file=FILE[,format=raw|qcow2][,if=ide|floppy][,media=disk|cdrom][,readonly=on|off][,index=N]</c>
    /// with QEMU's defaults: IDE, a disk, writable, the format probed, the first free index. QEMU's per-drive <c>snapshot=</c> is not taken: <c>-snapshot</c> covers every drive.
    /// </summary>
    private static DriveRequest ParseDrive(string spec)
    {
        string? file = null;
        string? format = null;
        string? interfaceName = null;
        string? media = null;
        string? readOnly = null;
        string? index = null;
        foreach ((string key, string value, bool hasValue) in SplitProperties(spec))
        {
            if (!s_driveProperties.Contains(key))
            {
                throw new RunOptionsException($"-drive: unknown property '{key}' (supported: {string.Join(", ", s_driveProperties)})");
            }

            if (!hasValue)
            {
                throw new RunOptionsException($"-drive: '{key}' needs a value ({key}=...)");
            }

            switch (key)
            {
                case "file": file = value; break;
                case "format": format = value; break;
                case "if": interfaceName = value; break;
                case "media": media = value; break;
                case "readonly": readOnly = value; break;
                default: index = value; break;
            }
        }

        if (string.IsNullOrEmpty(file))
        {
            throw new RunOptionsException($"-drive: '{spec}' names no file (file=PATH; Virt has no empty drives)");
        }

        string where = $"-drive file={file}";
        DriveInterface kind = interfaceName switch
        {
            null or "ide" => DriveInterface.Ide,
            "floppy" => DriveInterface.Floppy,
            _ => throw new RunOptionsException($"{where}: if={interfaceName} is not supported (supported: ide, floppy)"),
        };
        DriveMedia driveMedia = media switch
        {
            null or "disk" => DriveMedia.Disk,
            "cdrom" => DriveMedia.Cdrom,
            _ => throw new RunOptionsException($"{where}: media={media} is not supported (supported: disk, cdrom)"),
        };
        if (driveMedia == DriveMedia.Cdrom && kind == DriveInterface.Floppy)
        {
            throw new RunOptionsException($"{where}: media=cdrom needs if=ide; a floppy drive takes only disks");
        }

        DriveFormat? driveFormat = format switch
        {
            null => null,
            "raw" => DriveFormat.Raw,
            "qcow2" => DriveFormat.Qcow2,
            _ => throw new RunOptionsException($"{where}: format={format} is not supported (supported: raw, qcow2)"),
        };
        bool isReadOnly = readOnly is not null && ParseSwitch($"{where}: readonly", readOnly);
        int driveIndex = 0;
        if (index is not null)
        {
            ulong n = ParseNumber($"{where}: index", index);
            if (n >= (ulong)DriveCount(kind))
            {
                throw new RunOptionsException(
                    $"{where}: index={index} is beyond the {(kind == DriveInterface.Ide ? "IDE controller" : "floppy controller")}'s {DriveCount(kind)} drives (0-{DriveCount(kind) - 1})");
            }

            driveIndex = (int)n;
        }

        var drive = new DriveOptions
        {
            Option = "-drive",
            Path = file,
            Interface = kind,
            Index = driveIndex,
            Media = driveMedia,
            Format = driveFormat,

            // A CD is read-only whatever readonly= says: ATAPI has no write command the drive would accept.
            ReadOnly = isReadOnly || driveMedia == DriveMedia.Cdrom,
        };
        return new DriveRequest(drive, IndexGiven: index is not null);
    }

    /// <summary>
    /// Gives each drive its index in command-line order, as QEMU does: a drive with an index takes it, one without takes
    /// the lowest index of its interface still free at that point (so <c>-drive file=a -cdrom b -drive file=c</c> puts
    /// <c>c</c> at index 1); a second drive at a taken index is an error naming both.
    /// </summary>
    private static List<DriveOptions> AssignDriveIndexes(List<DriveRequest> requests)
    {
        var assigned = new List<DriveOptions>();
        foreach ((DriveOptions drive, bool indexGiven) in requests)
        {
            int index = drive.Index;
            if (!indexGiven)
            {
                index = Enumerable.Range(0, DriveCount(drive.Interface))
                    .Where(i => !assigned.Any(d => d.Interface == drive.Interface && d.Index == i))
                    .DefaultIfEmpty(-1)
                    .First();
                if (index < 0)
                {
                    throw new RunOptionsException(
                        $"{drive.Describe()}: no free {InterfaceName(drive.Interface)} position (index 0-{DriveCount(drive.Interface) - 1} are all taken)");
                }
            }

            if (assigned.FirstOrDefault(d => d.Interface == drive.Interface && d.Index == index) is { } taken)
            {
                throw new RunOptionsException(
                    $"{drive.Describe()}: {InterfaceName(drive.Interface)} index {index} is already taken by {taken.Describe()}");
            }

            assigned.Add(drive with { Index = index });
        }

        return assigned;
    }

    /// <summary>
    /// Parses <c>-boot [order=]DRIVES[,reboot-timeout=MS]</c>. The order goes where SeaBIOS reads it on QEMU's pc: the
    /// CMOS boot-order bytes (see <see cref="CmosBootOrder"/>), so it takes at most three of a, c, d, n.
    /// </summary>
    private static RunOptions ParseBoot(RunOptions options, string spec)
    {
        IReadOnlyList<(string Key, string Value, bool HasValue)> properties = SplitProperties(spec);
        if (properties.Count == 0)
        {
            throw new RunOptionsException("-boot: give the order (for example -boot d or -boot order=dc)");
        }

        foreach ((string key, string value, bool hasValue) in properties.Select((p, i) => i == 0 && !p.HasValue ? ("order", p.Key, true) : p))
        {
            switch (key)
            {
                case "order" when hasValue:
                    try
                    {
                        _ = CmosBootOrder.Encode(value);
                    }
                    catch (ArgumentException e)
                    {
                        throw new RunOptionsException($"-boot: order={value}: {e.Message.Split(" (Parameter", 2)[0]}", e);
                    }

                    if (value.Length == 0)
                    {
                        throw new RunOptionsException("-boot: order= is empty (use a, c, d or n)");
                    }

                    options = options with { BootOrder = value.ToLowerInvariant() };
                    break;
                case "reboot-timeout" when hasValue:
                {
                    ulong ms = ParseNumber("-boot reboot-timeout", value);
                    if (ms > uint.MaxValue - 1)
                    {
                        throw new RunOptionsException($"-boot reboot-timeout: '{value}' is too large (at most {uint.MaxValue - 1} milliseconds)");
                    }

                    options = options with { BootRebootTimeoutMilliseconds = (uint)ms };
                    break;
                }

                default:
                    throw new RunOptionsException(
                        hasValue
                            ? $"-boot: unknown property '{key}' (supported: order, reboot-timeout; QEMU's once, menu, splash and strict are not)"
                            : $"-boot: '{key}' needs a value ({key}=...)");
            }
        }

        return options;
    }

    /// <summary>Parses QEMU's on/off switch values (also yes/no and true/false).</summary>
    private static bool ParseSwitch(string what, string value) => value switch
    {
        "on" or "yes" or "true" => true,
        "off" or "no" or "false" => false,
        _ => throw new RunOptionsException($"{what}={value} is not on or off"),
    };

    private static string InterfaceName(DriveInterface kind) => kind == DriveInterface.Ide ? "IDE" : "floppy";

    /// <summary>The value of an option that names a file: present and not empty.</summary>
    private static string FileValue(IReadOnlyList<string> args, ref int i)
    {
        string option = args[i];
        string value = Value(args, ref i);
        return value.Length > 0 ? value : throw new RunOptionsException($"{option}: the file name is empty");
    }
}
