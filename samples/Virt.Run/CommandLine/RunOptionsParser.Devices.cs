using System.Globalization;

namespace Virt.Run.CommandLine;

/// <summary>The <c>-device</c> option: QEMU's syntax, <c>-device NAME[,prop=value...]</c>, and <c>-device help</c>.</summary>
public static partial class RunOptionsParser
{
    /// <summary>The device number QEMU's <c>addr=</c> may name for a card on bus 0: 2-31 (0 and 1 are the chipset).</summary>
    private const int FirstCardSlot = 2;

    private const int LastCardSlot = 31;

    /// <summary>The devices <c>-device</c> accepts: name, bus, description and properties, for <c>-device help</c> and messages.</summary>
    public static IReadOnlyList<(string Name, string Bus, string Description, string[] Properties)> Devices { get; } =
    [
        ("edu", "PCI", "QEMU's educational card (1234:11e8): factorial, DMA engine, INTx and MSI", ["addr", "dma_mask"]),
        ("VGA", "PCI", "the std VGA (1234:1111) with Bochs VBE, as -vga std (-M pc)", ["romfile", "vgamem_mb"]),
        ("isa-debug-exit", "ISA", "a write of v exits with status (v << 1) | 1", ["iobase", "iosize"]),
        ("isa-debugcon", "ISA", "moves the -debugcon port", ["iobase"]),
    ];

    /// <summary>The text <c>-device help</c> prints.</summary>
    public static string DeviceHelpText { get; } =
        "Devices for -device NAME[,prop=value...]:" + Environment.NewLine
        + string.Join(Environment.NewLine, Devices.Select(d => $"name \"{d.Name}\", bus {d.Bus}, desc \"{d.Description}\", properties: {string.Join(", ", d.Properties)}"));

    private static RunOptions ParseDevice(RunOptions options, string spec)
    {
        string[] parts = spec.Split(',');
        string name = parts[0].StartsWith("driver=", StringComparison.Ordinal) ? parts[0]["driver=".Length..] : parts[0];
        if (name == "help")
        {
            return options with { ShowDeviceHelp = true };
        }

        (string Name, string Bus, string Description, string[] Properties) device = Devices.FirstOrDefault(d => d.Name == name);
        if (device.Name is null)
        {
            throw new RunOptionsException($"-device: '{name}' is not a supported device (supported: {string.Join(", ", Devices.Select(d => d.Name))}; -device help lists them)");
        }

        var properties = new List<(string Key, string Value)>();
        foreach (string property in parts.Skip(1))
        {
            int eq = property.IndexOf('=', StringComparison.Ordinal);
            string key = eq < 0 ? property : property[..eq];
            if (!device.Properties.Contains(key))
            {
                throw new RunOptionsException($"-device {name}: unknown property '{key}' (supported: {string.Join(", ", device.Properties)})");
            }

            properties.Add((key, eq < 0 ? string.Empty : property[(eq + 1)..]));
        }

        return name switch
        {
            "isa-debugcon" => ParseDebugConsoleDevice(options, properties),
            "isa-debug-exit" => ParseDebugExitDevice(options, properties),
            "VGA" => ParseVgaDevice(options, properties),
            _ => ParseEduDevice(options, properties),
        };
    }

    /// <summary><c>-device edu[,addr=N][,dma_mask=M]</c>: QEMU's educational card.</summary>
    private static RunOptions ParseEduDevice(RunOptions options, List<(string Key, string Value)> properties)
    {
        var card = new PciCardOptions { Driver = "edu" };
        foreach ((string key, string value) in properties)
        {
            if (key == "addr")
            {
                card = card with { Slot = ParsePciSlot("-device edu,addr", value) };
            }
            else
            {
                ulong mask = ParseNumber("-device edu,dma_mask", value);
                if (mask == 0)
                {
                    throw new RunOptionsException("-device edu,dma_mask: the mask must not be 0");
                }

                card = card with { DmaMask = mask };
            }
        }

        return options with { PciCards = [.. options.PciCards, card] };
    }

    /// <summary><c>-device VGA[,romfile=FILE][,vgamem_mb=N]</c>: the std VGA as the display adapter (QEMU then adds no default VGA).</summary>
    private static RunOptions ParseVgaDevice(RunOptions options, List<(string Key, string Value)> properties)
    {
        if (options.VgaDevice)
        {
            throw new RunOptionsException("-device VGA: Virt has one display adapter; give -device VGA once");
        }

        options = options with { Vga = "std", VgaDevice = true };
        foreach ((string key, string value) in properties)
        {
            if (key == "romfile")
            {
                if (value.Length == 0)
                {
                    throw new RunOptionsException("-device VGA,romfile: needs a file name");
                }

                options = options with { VgaRomPath = value };
            }
            else
            {
                ulong megabytes = ParseNumber("-device VGA,vgamem_mb", value);
                if (megabytes is < 1 or > 256 || (megabytes & (megabytes - 1)) != 0)
                {
                    throw new RunOptionsException($"-device VGA,vgamem_mb: '{value}' is not a power of two from 1 to 256");
                }

                options = options with { VgaMemorySizeInBytes = megabytes * MiB };
            }
        }

        return options;
    }

    /// <summary>
    /// QEMU's <c>addr=</c> for a card on bus 0: a device number, <c>DD</c> or <c>DD.F</c> in hexadecimal (function 0 only:
    /// Virt's cards are single-function).
    /// </summary>
    private static int ParsePciSlot(string option, string text)
    {
        string[] parts = text.Split('.');
        bool ok = int.TryParse(parts[0].StartsWith("0x", StringComparison.OrdinalIgnoreCase) ? parts[0][2..] : parts[0], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out int slot);
        if (!ok || parts.Length > 2 || (parts.Length == 2 && parts[1] != "0"))
        {
            throw new RunOptionsException($"-{option.TrimStart('-')}: '{text}' is not a PCI address (DD or DD.0, hexadecimal)");
        }

        if (slot is < FirstCardSlot or > LastCardSlot)
        {
            throw new RunOptionsException($"{option}: device number {slot} is not free for cards ({FirstCardSlot}-{LastCardSlot}; 0 and 1 are the chipset)");
        }

        return slot;
    }

    private static RunOptions ParseDebugExitDevice(RunOptions options, List<(string Key, string Value)> properties)
    {
        ushort port = 0x501;
        int size = 2;
        foreach ((string key, string value) in properties)
        {
            if (key == "iobase")
            {
                ulong p = ParseNumber("-device isa-debug-exit,iobase", value);
                if (p > ushort.MaxValue)
                {
                    throw new RunOptionsException($"-device isa-debug-exit,iobase: '{value}' is beyond port 0xFFFF");
                }

                port = (ushort)p;
            }
            else
            {
                ulong s = ParseNumber("-device isa-debug-exit,iosize", value);
                if (s is not (1 or 2 or 4))
                {
                    throw new RunOptionsException($"-device isa-debug-exit,iosize: '{value}' must be 1, 2 or 4");
                }

                size = (int)s;
            }
        }

        if (port + size > 0x10000)
        {
            throw new RunOptionsException($"-device isa-debug-exit: ports 0x{port:X}..+{size} run past 0xFFFF");
        }

        return options with { DebugExitPort = port, DebugExitSize = size };
    }

    /// <summary>
    /// <c>-device isa-debugcon[,iobase=N]</c>: moves the <c>-debugcon</c> port, as QEMU's device property does.
    /// SeaBIOS as QEMU ships it writes its debug log to port 402h, not E9h.
    /// </summary>
    private static RunOptions ParseDebugConsoleDevice(RunOptions options, List<(string Key, string Value)> properties)
    {
        ushort port = DefaultDebugConsolePort;
        foreach ((_, string value) in properties)
        {
            ulong p = ParseNumber("-device isa-debugcon,iobase", value);
            if (p > ushort.MaxValue)
            {
                throw new RunOptionsException($"-device isa-debugcon,iobase: '{value}' is beyond port 0xFFFF");
            }

            port = (ushort)p;
        }

        return options with { DebugConsolePort = port };
    }
}
