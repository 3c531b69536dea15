using System.Globalization;

namespace Virt.Run.CommandLine;

/// <summary>
/// Parses Virt.Run's command line: a subset of QEMU's option syntax (single-dash options, the same
/// names and value forms) plus Virt's own double-dash options. Unknown options are rejected.
/// </summary>
public static class RunOptionsParser
{
    /// <summary>The help text printed by <c>--help</c>.</summary>
    public const string HelpText = """
        Usage: Virt.Run [options]

        With no options, boots the built-in demo guest.

        QEMU-style options:
          -m SIZE                 guest RAM; a bare number is MiB, suffixes K, M, G (default 128M)
          -bios FILE              firmware image (64 KiB to 2 MiB) at the reset vector
          -kernel FILE            Linux bzImage or Multiboot kernel to boot directly
          -initrd FILE            initial ramdisk for -kernel
          -append STRING          kernel command line for -kernel
          -nographic              no display; serial port 1 on stdin/stdout
          -display none           no display
          -serial stdio|file:PATH|null|none
                                  where serial port 1 goes
          -debugcon stdio|file:PATH|null
                                  port E9h debug console
          -device isa-debug-exit[,iobase=N][,iosize=N]
                                  a write of v to the port exits with status (v << 1) | 1
                                  (defaults: iobase=0x501, iosize=2)
          -no-reboot              a guest reset stops the machine
          -cpu MODEL              CPU model (max = the most capable model implemented)

        Virt options:
          --max-instructions N    stop after N guest instructions
          --timeout SECONDS       stop after SECONDS of wall-clock time (exit status 124)
          --deterministic         virtual time advances with retired instructions
          --log-level LEVEL       trace, debug, information, warning (default), error, critical, none
          --help, -h              this text

        Exit status: 0 when the guest powers off or halts for good, (v << 1) | 1 after an
        isa-debug-exit write of v, 124 on timeout, 2 on bad options or unreadable files.
        """;

    private static readonly string[] s_logLevels = ["trace", "debug", "information", "warning", "error", "critical", "none"];

    /// <summary>Parses the arguments.</summary>
    /// <param name="args">The command-line arguments.</param>
    /// <returns>The options.</returns>
    /// <exception cref="RunOptionsException">For an unknown option, a missing or malformed value, or inconsistent options.</exception>
    public static RunOptions Parse(IReadOnlyList<string> args)
    {
        ArgumentNullException.ThrowIfNull(args);
        var options = new RunOptions();
        bool nographic = false;
        for (int i = 0; i < args.Count; i++)
        {
            string arg = args[i];
            switch (arg)
            {
                case "-h" or "-help" or "--help":
                    options = options with { ShowHelp = true };
                    break;
                case "-m":
                    options = options with { MemorySizeInBytes = ParseMemorySize(Value(args, ref i)) };
                    break;
                case "-bios":
                    options = options with { BiosPath = Value(args, ref i) };
                    break;
                case "-kernel":
                    options = options with { KernelPath = Value(args, ref i) };
                    break;
                case "-initrd":
                    options = options with { InitrdPath = Value(args, ref i) };
                    break;
                case "-append":
                    options = options with { Append = Value(args, ref i) };
                    break;
                case "-nographic":
                    nographic = true;
                    options = options with { Display = false };
                    break;
                case "-display":
                {
                    string v = Value(args, ref i);
                    if (v != "none")
                    {
                        throw new RunOptionsException($"-display: '{v}' is not supported (only 'none')");
                    }

                    options = options with { Display = false };
                    break;
                }

                case "-serial":
                    options = options with { Serial = CharacterTarget.Parse("-serial", Value(args, ref i), allowNone: true) };
                    break;
                case "-debugcon":
                    options = options with { DebugConsole = CharacterTarget.Parse("-debugcon", Value(args, ref i), allowNone: false) };
                    break;
                case "-device":
                    options = ParseDevice(options, Value(args, ref i));
                    break;
                case "-no-reboot":
                    options = options with { NoReboot = true };
                    break;
                case "-cpu":
                    options = options with { CpuModel = Value(args, ref i) };
                    break;
                case "--max-instructions":
                {
                    string v = Value(args, ref i);
                    if (!long.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out long n) || n <= 0)
                    {
                        throw new RunOptionsException($"--max-instructions: '{v}' is not a positive whole number");
                    }

                    options = options with { MaxInstructions = n };
                    break;
                }

                case "--timeout":
                {
                    string v = Value(args, ref i);
                    if (!double.TryParse(v, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out double seconds) || seconds <= 0 || seconds > TimeSpan.MaxValue.TotalSeconds / 2)
                    {
                        throw new RunOptionsException($"--timeout: '{v}' is not a positive number of seconds");
                    }

                    options = options with { Timeout = TimeSpan.FromSeconds(seconds) };
                    break;
                }

                case "--deterministic":
                    options = options with { Deterministic = true };
                    break;
                case "--log-level":
                {
                    string v = Value(args, ref i).ToLowerInvariant();
                    if (!s_logLevels.Contains(v))
                    {
                        throw new RunOptionsException($"--log-level: '{v}' is not one of {string.Join(", ", s_logLevels)}");
                    }

                    options = options with { LogLevel = v };
                    break;
                }

                default:
                    throw new RunOptionsException(arg.StartsWith('-')
                        ? $"unknown option '{arg}' (see --help)"
                        : $"unexpected argument '{arg}' (options start with '-'; see --help)");
            }
        }

        if (nographic && options.Serial.Kind == CharacterTargetKind.Default)
        {
            options = options with { Serial = new CharacterTarget(CharacterTargetKind.Stdio) };
        }

        if (options.KernelPath is null && (options.InitrdPath is not null || options.Append is not null))
        {
            throw new RunOptionsException(options.InitrdPath is not null ? "-initrd needs -kernel" : "-append needs -kernel");
        }

        return options;
    }

    /// <summary>Parses a QEMU memory size: a bare number is MiB; K, M, G and T suffixes (optionally followed by B).</summary>
    /// <param name="text">The size text.</param>
    /// <returns>The size in bytes.</returns>
    /// <exception cref="RunOptionsException">For malformed, zero or absurd sizes.</exception>
    public static ulong ParseMemorySize(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        string t = text.Trim();
        if (t.StartsWith("size=", StringComparison.Ordinal))
        {
            t = t[5..];
        }

        if (t.EndsWith('B') || t.EndsWith('b'))
        {
            t = t[..^1];
        }

        ulong multiplier = 1UL << 20;
        if (t.Length > 0 && char.IsLetter(t[^1]))
        {
            multiplier = char.ToUpperInvariant(t[^1]) switch
            {
                'K' => 1UL << 10,
                'M' => 1UL << 20,
                'G' => 1UL << 30,
                'T' => 1UL << 40,
                _ => throw new RunOptionsException($"-m: '{text}' has an unknown size suffix (use K, M or G)"),
            };
            t = t[..^1];
        }

        if (!ulong.TryParse(t, NumberStyles.None, CultureInfo.InvariantCulture, out ulong value) || value == 0)
        {
            throw new RunOptionsException($"-m: '{text}' is not a memory size (for example 256, 256M or 1G)");
        }

        if (value > (1UL << 46) / multiplier)
        {
            throw new RunOptionsException($"-m: '{text}' is larger than the 64 TiB Virt supports");
        }

        ulong bytes = value * multiplier;
        if (bytes < (1UL << 20))
        {
            throw new RunOptionsException($"-m: '{text}' is less than the 1 MiB a PC needs");
        }

        return bytes;
    }

    private static RunOptions ParseDevice(RunOptions options, string spec)
    {
        string[] parts = spec.Split(',');
        if (parts[0] != "isa-debug-exit")
        {
            throw new RunOptionsException($"-device: '{parts[0]}' is not a supported device (supported: isa-debug-exit)");
        }

        ushort port = 0x501;
        int size = 2;
        foreach (string property in parts.Skip(1))
        {
            int eq = property.IndexOf('=', StringComparison.Ordinal);
            string key = eq < 0 ? property : property[..eq];
            string value = eq < 0 ? string.Empty : property[(eq + 1)..];
            switch (key)
            {
                case "iobase":
                    ulong p = ParseNumber("-device isa-debug-exit,iobase", value);
                    if (p > ushort.MaxValue)
                    {
                        throw new RunOptionsException($"-device isa-debug-exit,iobase: '{value}' is beyond port 0xFFFF");
                    }

                    port = (ushort)p;
                    break;
                case "iosize":
                    ulong s = ParseNumber("-device isa-debug-exit,iosize", value);
                    if (s is not (1 or 2 or 4))
                    {
                        throw new RunOptionsException($"-device isa-debug-exit,iosize: '{value}' must be 1, 2 or 4");
                    }

                    size = (int)s;
                    break;
                default:
                    throw new RunOptionsException($"-device isa-debug-exit: unknown property '{key}' (supported: iobase, iosize)");
            }
        }

        if (port + size > 0x10000)
        {
            throw new RunOptionsException($"-device isa-debug-exit: ports 0x{port:X}..+{size} run past 0xFFFF");
        }

        return options with { DebugExitPort = port, DebugExitSize = size };
    }

    /// <summary>Parses a number as QEMU does: decimal, or hexadecimal with a 0x prefix.</summary>
    private static ulong ParseNumber(string option, string text)
    {
        bool ok = text.StartsWith("0x", StringComparison.OrdinalIgnoreCase)
            ? ulong.TryParse(text.AsSpan(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out ulong value)
            : ulong.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out value);
        return ok ? value : throw new RunOptionsException($"{option}: '{text}' is not a number");
    }

    private static string Value(IReadOnlyList<string> args, ref int i)
    {
        if (i + 1 >= args.Count)
        {
            throw new RunOptionsException($"{args[i]} needs a value (see --help)");
        }

        i++;
        return args[i];
    }
}
