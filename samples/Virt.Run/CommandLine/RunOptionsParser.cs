using System.Globalization;
using System.Net;
using Virt.Machine;
using Virt.Machine.Debugging;

namespace Virt.Run.CommandLine;

/// <summary>
/// Parses Virt.Run's command line: a subset of QEMU's option syntax (single-dash options, the same
/// names and value forms) plus Virt's own double-dash options. Unknown options are rejected.
/// </summary>
public static partial class RunOptionsParser
{
    private const ulong KiB = 1UL << 10;
    private const ulong MiB = 1UL << 20;
    private const ulong GiB = 1UL << 30;
    private const ulong TiB = 1UL << 40;

    /// <summary>The Bochs/QEMU debug console port, E9h, used unless <c>-device isa-debugcon,iobase=N</c> moves it.</summary>
    private const ushort DefaultDebugConsolePort = 0xE9;

    /// <summary>Guest RAM is mapped in 4 KiB pages, so its size must be a multiple of this.</summary>
    private const ulong MemoryGranularityInBytes = 4 * KiB;

    private static readonly string[] s_logLevels = ["trace", "debug", "information", "warning", "error", "critical", "none"];

    /// <summary>The <c>-d</c> items: name, what it traces, and the trace events it turns on.</summary>
    public static IReadOnlyList<(string Name, string Description, MachineTraceEvents Events)> TraceItems { get; } =
    [
        ("int", "interrupts and exceptions: vector, error code, CS:EIP, mode, hardware or software", MachineTraceEvents.Interrupts),
        ("ioport", "port I/O: direction, port, width, value", MachineTraceEvents.PortIo),
        ("reset", "guest resets: source, count, CS:EIP", MachineTraceEvents.Resets),
        ("cpu_reset", "the same as reset (QEMU's name)", MachineTraceEvents.Resets),
        ("apic", "local APIC and I/O APIC register writes, messages, deliveries, EOIs (with --apic)", MachineTraceEvents.Apic),
        ("pci", "PCI configuration accesses (CF8h/CFCh): function, register, width, value", MachineTraceEvents.Pci),
    ];

    /// <summary>The boards <c>-M</c> accepts: name and description.</summary>
    public static IReadOnlyList<(string Name, string Description)> MachineTypes { get; } =
    [
        ("pc", "QEMU's PC (the default): PCI bus with i440FX host bridge, PIIX3 ISA bridge, PIIX4 power management"),
        ("isapc", "ISA-only PC without PCI"),
    ];

    /// <summary>The help text printed by <c>--help</c>: every option, every accepted value, the <c>-d</c> items and the exit statuses.</summary>
    public static string HelpText { get; } = $"""
        Usage: Virt.Run [options]

        With no options, boots the built-in demo guest; with drives, SeaBIOS boots them.

        QEMU-style options:
          -m SIZE                 guest RAM, a multiple of 4 KiB from {FormatSize(MachineBuilder.MinimumMemorySizeInBytes)} to {FormatSize(MachineBuilder.MaximumMemorySizeInBytes)} (default 128M);
                                  a plain number is MiB; suffixes B, K, M, G, T (either case, optionally
                                  followed by B); fractions allowed: 2048, 512M, 1.5G, 4096KB
          -bios FILE              firmware image (64 KiB to 2 MiB) at the reset vector; with drives and
                                  no -kernel, {MachineFactory.DefaultBiosPath} (SeaBIOS) by default
          -kernel FILE            Linux bzImage or Multiboot kernel to boot directly
          -initrd FILE            initial ramdisk for -kernel
          -append STRING          kernel command line for -kernel
          -nographic              no display; serial port 1 on stdin/stdout
          -display none           no display
          -serial stdio|file:PATH|null|none
                                  where serial port 1 goes
          -debugcon stdio|file:PATH|null
                                  port E9h debug console
          -device isa-debugcon,iobase=N
                                  move the -debugcon port (SeaBIOS writes its log to 0x402)
          -M pc|isapc, -machine pc|isapc
                                  the board: pc = QEMU's PC, the default (PCI with i440FX, PIIX3,
                                  PIIX4 PM; APIC, HPET, fw_cfg, ACPI, std VGA); isapc = ISA only
          -device isa-debug-exit[,iobase=N][,iosize=1|2|4]
                                  a write of v to the port exits with status (v << 1) | 1
                                  (defaults: iobase=0x501, iosize=2)
          -device edu[,addr=DD][,dma_mask=M]
                                  QEMU's educational PCI card (1234:11e8; -M pc)
          -device VGA[,romfile=FILE][,vgamem_mb=N]
                                  the std VGA with that VGA BIOS, as -vga std --vga-rom FILE
          -device help            list the devices and their properties
          -no-acpi                no ACPI tables for the guest
          -hda/-hdb/-hdc/-hdd FILE
                                  IDE hard disk 0-3 (primary master, primary slave, secondary master,
                                  secondary slave); the format is probed (raw or qcow2)
          -cdrom FILE             ISO image in the ATAPI CD-ROM drive at IDE index 2 (secondary master)
          -fda/-fdb FILE          floppy image in drive A:/B: (1.44 MB or 2.88 MB)
          -drive file=FILE[,format=raw|qcow2][,if=ide|floppy][,media=disk|cdrom]
                 [,readonly=on|off][,index=N]
                                  a drive with QEMU's defaults: if=ide, media=disk, the first free index,
                                  the format probed (a raw guess is warned about, and the guest may not
                                  write an image header into its sector 0); a comma in FILE is written ,,
          -snapshot               every writable drive runs on a temporary copy-on-write overlay,
                                  thrown away at exit: the image files are never written
          -boot [order=]DRIVES[,reboot-timeout=MS]
                                  firmware boot order, up to three of a (floppy), c (hard disk),
                                  d (CD-ROM), n (network), default cad; reboot-timeout: wait after
                                  "No bootable device" before trying again (default: for ever)
          -vga std|none           std = QEMU's std VGA, a PCI card with Bochs VBE and a linear framebuffer
                                  (-M pc only; the default there when its VGA BIOS is installed, see
                                  --vga-rom); none = no display adapter. Otherwise: the ISA VGA
          -no-reboot              a guest reset or triple fault stops the machine
          -cpu {string.Join('|', MachineFactory.CpuModels),-18} CPU model: max = everything implemented (default);
                                  pentium-pro = what a Pentium Pro has (no FXSR, SYSENTER, NX)
          -d ITEM[,ITEM...]       trace to standard error at Trace level (-d help lists the items):
        {string.Join(Environment.NewLine, TraceItems.Select(i => $"                            {i.Name,-10} {i.Description}"))}
          -s                      gdb stub on tcp::{GdbStub.DefaultPort} (loopback)
          -gdb tcp::PORT|tcp:HOST:PORT
                                  gdb stub on PORT (loopback when HOST is empty); in gdb:
                                  set architecture i386, then target remote :PORT
          -S                      do not start the guest until gdb attaches (needs -s or -gdb)

        Virt options:
          --max-instructions N    stop after N guest instructions (exit status 124); time the guest
                                  spends halted counts at the clock's rate (100 per microsecond)
          --timeout SECONDS       stop after SECONDS of wall-clock time (exit status 124)
          --max-guest-time SECONDS  stop after SECONDS of guest time (exit status 124)
          --deterministic         virtual time advances with retired instructions
          --cpu-tier interpreter|compiled
                                  interpreter = every instruction interpreted (default); compiled =
                                  hot blocks compiled to .NET code, same results (docs/performance.md)
          --compile-threshold N   with --cpu-tier compiled: a block is compiled after N interpreted
                                  entries (default 3000; 0 compiles every block on its first entry)
          --background-compile    with --cpu-tier compiled: compile hot blocks on a background thread
                                  (a second core), the guest running on interpreted meanwhile
          --tier-stats            at the end, print to standard error the host time of the run, the guest
                                  instructions retired and the compiled tier's statistics (blocks compiled,
                                  compile time, code cache size)
          --apic                  add the local APIC (FEE00000h) and the I/O APIC (FEC00000h) to the
                                  isapc board (pc has them); guests that never enable the APIC still
                                  see the 8259A PIC
          --hpet                  add the HPET (FED00000h, 100 MHz, legacy replacement routing) to
                                  the isapc board (pc has it)
          --vga-rom FILE          the VGA BIOS for -vga std (default {MachineFactory.DefaultVgaRomPath})
          --screenshot FILE.png   when the guest stops, write the screen (any mode) as a PNG image
          --screen-text FILE      when the guest stops, write the VGA text screen (the characters of the
                                  buffer at B8000h, one line a row) to FILE; works with -nographic too
          --allow-reset-loop      keep resetting a guest that triple-faults at the same place again and
                                  again, as QEMU does (by default the 8th such crash in a row stops it)
          --save-snapshot FILE    with --snapshot-at N: after N guest instructions (counted as
                                  --max-instructions counts them) write the whole machine to FILE, then go on
          --snapshot-at N         when to write the --save-snapshot file
          --restore-snapshot FILE continue the guest saved in FILE instead of booting; give the same
                                  machine options (-m, -cpu, -bios/-kernel, -serial, -device, ...) as
                                  when it was saved; output continues from there
          --log-level LEVEL       {string.Join(", ", s_logLevels)} (default warning)
          --help, -h              this text

        Exit status:
          {ProcessExitStatuses.Success,-3}  the guest halted for good or powered off (or asked for a reset with -no-reboot)
          odd  (v << 1) | 1: the guest wrote v to isa-debug-exit
          {ProcessExitStatuses.BadInput,-3}  bad options, or an input file that is missing, unreadable or not understood
          {ProcessExitStatuses.GuestCrashed,-3}  the guest crashed: a triple fault with -no-reboot, or a reset loop
          {ProcessExitStatuses.OtherStop,-3}  the run stopped for another reason
          {ProcessExitStatuses.LimitReached,-3}  --timeout, --max-instructions or --max-guest-time reached
          {ProcessExitStatuses.Interrupted,-3}  interrupted (Ctrl+C)
        """;

    /// <summary>The text <c>-d help</c> prints.</summary>
    public static string TraceHelpText { get; } =
        "Trace items for -d (comma-separated; logged to standard error at Trace level):" + Environment.NewLine
        + string.Join(Environment.NewLine, TraceItems.Select(i => $"  {i.Name,-10} {i.Description}"));

    /// <summary>Parses the arguments.</summary>
    /// <param name="args">The command-line arguments.</param>
    /// <returns>The options.</returns>
    /// <exception cref="RunOptionsException">For an unknown option, a missing or malformed value, or inconsistent options.</exception>
    public static RunOptions Parse(IReadOnlyList<string> args)
    {
        ArgumentNullException.ThrowIfNull(args);
        var options = new RunOptions();
        bool nographic = false;
        var drives = new List<DriveRequest>();
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
                    options = options with { Display = false, NoGraphic = true };
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
                case "-M" or "-machine":
                    options = options with { MachineType = ParseMachine(arg, Value(args, ref i)) };
                    break;
                case "-no-acpi":
                    options = options with { NoAcpi = true };
                    break;
                case "-vga":
                {
                    string v = Value(args, ref i);
                    if (v is not ("std" or "none"))
                    {
                        throw new RunOptionsException($"-vga: '{v}' is not supported (std, none)");
                    }

                    options = options with { Vga = v };
                    break;
                }
                case "-cpu":
                    options = options with { CpuModel = Value(args, ref i) };
                    break;
                case "-s":
                    options = options with { GdbEndPoint = new IPEndPoint(IPAddress.Loopback, GdbStub.DefaultPort) };
                    break;
                case "-gdb":
                    options = options with { GdbEndPoint = ParseGdbEndPoint(Value(args, ref i)) };
                    break;
                case "-S":
                    options = options with { WaitForDebugger = true };
                    break;
                case "-hda" or "-hdb" or "-hdc" or "-hdd":
                    drives.Add(new DriveRequest(new DriveOptions { Option = arg, Path = FileValue(args, ref i), Index = arg[^1] - 'a' }, IndexGiven: true));
                    break;
                case "-fda" or "-fdb":
                    drives.Add(new DriveRequest(new DriveOptions { Option = arg, Path = FileValue(args, ref i), Interface = DriveInterface.Floppy, Index = arg[^1] - 'a' }, IndexGiven: true));
                    break;
                case "-cdrom":
                    // QEMU's -cdrom is the secondary master (index 2), read-only CD media.
                    drives.Add(new DriveRequest(new DriveOptions { Option = arg, Path = FileValue(args, ref i), Index = CdromIndex, Media = DriveMedia.Cdrom, ReadOnly = true }, IndexGiven: true));
                    break;
                case "-drive":
                    drives.Add(ParseDrive(Value(args, ref i)));
                    break;
                case "-snapshot":
                    options = options with { Snapshot = true };
                    break;
                case "-boot":
                    options = ParseBoot(options, Value(args, ref i));
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

                case "--max-guest-time":
                {
                    string v = Value(args, ref i);
                    if (!double.TryParse(v, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out double seconds) || seconds <= 0 || seconds > TimeSpan.MaxValue.TotalSeconds / 2)
                    {
                        throw new RunOptionsException($"--max-guest-time: '{v}' is not a positive number of seconds");
                    }

                    options = options with { MaxGuestTime = TimeSpan.FromSeconds(seconds) };
                    break;
                }

                case "--deterministic":
                    options = options with { Deterministic = true };
                    break;
                case "--cpu-tier":
                {
                    string v = Value(args, ref i);
                    options = options with
                    {
                        CpuTier = v switch
                        {
                            "interpreter" => Virt.Cpu.ExecutionTier.Interpreter,
                            "compiled" => Virt.Cpu.ExecutionTier.Compiled,
                            _ => throw new RunOptionsException($"--cpu-tier: '{v}' is not a tier (interpreter, compiled)"),
                        },
                    };
                    break;
                }

                case "--compile-threshold":
                {
                    string v = Value(args, ref i);
                    ulong threshold = ParseNumber("--compile-threshold", v);
                    options = options with
                    {
                        CompileThreshold = threshold <= int.MaxValue ? (int)threshold : throw new RunOptionsException($"--compile-threshold: '{v}' is too large"),
                    };
                    break;
                }

                case "--tier-stats":
                    options = options with { TierStatistics = true };
                    break;
                case "--background-compile":
                    options = options with { BackgroundCompilation = true };
                    break;
                case "--allow-reset-loop":
                    options = options with { AllowResetLoop = true };
                    break;
                case "--apic":
                    options = options with { Apic = true };
                    break;
                case "--hpet":
                    options = options with { Hpet = true };
                    break;
                case "--vga-rom":
                    options = options with { VgaRomPath = Value(args, ref i) };
                    break;
                case "--screenshot":
                    options = options with { ScreenshotPath = Value(args, ref i) };
                    break;
                case "--screen-text":
                    options = options with { ScreenTextPath = Value(args, ref i) };
                    break;
                case "--save-snapshot":
                    options = options with { SaveSnapshotPath = Value(args, ref i) };
                    break;
                case "--snapshot-at":
                {
                    string v = Value(args, ref i);
                    if (!long.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out long n) || n <= 0)
                    {
                        throw new RunOptionsException($"--snapshot-at: '{v}' is not a positive whole number");
                    }

                    options = options with { SnapshotAtInstructions = n };
                    break;
                }

                case "--restore-snapshot":
                    options = options with { RestoreSnapshotPath = Value(args, ref i) };
                    break;
                case "-d":
                    options = ParseTrace(options, Value(args, ref i));
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

        options = options with { Drives = AssignDriveIndexes(drives) };
        if (nographic && options.Serial.Kind == CharacterTargetKind.Default)
        {
            options = options with { Serial = new CharacterTarget(CharacterTargetKind.Stdio) };
        }

        if ((options.SaveSnapshotPath is null) != (options.SnapshotAtInstructions is null))
        {
            throw new RunOptionsException(options.SaveSnapshotPath is null ? "--snapshot-at needs --save-snapshot" : "--save-snapshot needs --snapshot-at");
        }

        if (options.KernelPath is null && (options.InitrdPath is not null || options.Append is not null))
        {
            throw new RunOptionsException(options.InitrdPath is not null ? "-initrd needs -kernel" : "-append needs -kernel");
        }

        if (options.WaitForDebugger && options.GdbEndPoint is null)
        {
            throw new RunOptionsException("-S needs -s or -gdb (nothing else could start the guest)");
        }

        if (options.GdbEndPoint is not null && options.MaxGuestTime is not null)
        {
            throw new RunOptionsException("--max-guest-time cannot be combined with -s or -gdb");
        }

        if (options.GdbEndPoint is not null && options.SaveSnapshotPath is not null)
        {
            // The stub owns the run loop while a debugger is attached; a snapshot can be taken from gdb's side later.
            throw new RunOptionsException("--save-snapshot cannot be combined with -s or -gdb");
        }

        return options;
    }

    /// <summary>
    /// Parses QEMU's <c>-gdb</c> device: <c>tcp::PORT</c> (loopback) or <c>tcp:HOST:PORT</c>, HOST an IP address or
    /// <c>localhost</c>.
    /// </summary>
    /// <param name="text">The value.</param>
    /// <returns>The endpoint to listen on.</returns>
    /// <exception cref="RunOptionsException">For another device kind, a malformed host or a port outside 1-65535.</exception>
    public static IPEndPoint ParseGdbEndPoint(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        const string prefix = "tcp:";
        int lastColon = text.LastIndexOf(':');
        if (!text.StartsWith(prefix, StringComparison.Ordinal) || lastColon < prefix.Length - 1)
        {
            throw new RunOptionsException($"-gdb: '{text}' is not supported (use tcp::PORT or tcp:HOST:PORT)");
        }

        string host = text[prefix.Length..lastColon];
        string portText = text[(lastColon + 1)..];
        if (!int.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out int port) || port is < 1 or > IPEndPoint.MaxPort)
        {
            throw new RunOptionsException($"-gdb: '{portText}' is not a port number from 1 to {IPEndPoint.MaxPort}");
        }

        IPAddress address;
        if (host.Length == 0 || host == "localhost")
        {
            address = IPAddress.Loopback;
        }
        else if (!IPAddress.TryParse(host.Trim('[', ']'), out address!))
        {
            throw new RunOptionsException($"-gdb: '{host}' is not an IP address or localhost");
        }

        return new IPEndPoint(address, port);
    }

    /// <summary>
    /// Parses a QEMU memory size: a plain number is MiB; a suffix B, K, M, G or T (either case; K to T optionally followed
    /// by B) sets the unit; fractions are allowed (<c>1.5G</c>). The result must be a multiple of 4 KiB within the limits
    /// <see cref="MachineBuilder"/> accepts.
    /// </summary>
    /// <param name="text">The size text.</param>
    /// <returns>The size in bytes.</returns>
    /// <exception cref="RunOptionsException">For a malformed, zero, negative, unaligned or out-of-range size; one message names the limits.</exception>
    public static ulong ParseMemorySize(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        string t = text.Trim();
        if (t.StartsWith("size=", StringComparison.Ordinal))
        {
            t = t[5..];
        }

        ulong unit = MiB;
        if (t.Length > 0 && char.IsLetter(t[^1]))
        {
            char suffix = char.ToUpperInvariant(t[^1]);
            t = t[..^1];
            if (suffix == 'B' && t.Length > 0 && char.IsLetter(t[^1]))
            {
                // "512MB": the B only repeats that the unit is bytes.
                suffix = char.ToUpperInvariant(t[^1]);
                t = t[..^1];
                if (suffix == 'B')
                {
                    throw BadMemorySize(text, "has an unknown size suffix (use B, K, M, G or T)");
                }
            }

            unit = suffix switch
            {
                'B' => 1,
                'K' => KiB,
                'M' => MiB,
                'G' => GiB,
                'T' => TiB,
                _ => throw BadMemorySize(text, "has an unknown size suffix (use B, K, M, G or T)"),
            };
        }

        if (t.StartsWith('-'))
        {
            throw BadMemorySize(text, "is negative");
        }

        if (t.Length == 0 || !t.All(c => char.IsAsciiDigit(c) || c == '.'))
        {
            throw BadMemorySize(text, "is not a number");
        }

        if (!decimal.TryParse(t, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out decimal value))
        {
            // Only digits and one point fail here when the number is beyond decimal's range; two points are malformed.
            throw BadMemorySize(text, t.Count(c => c == '.') > 1 ? "is not a number" : "is too large");
        }

        if (value == 0)
        {
            throw BadMemorySize(text, "is zero");
        }

        decimal bytes;
        try
        {
            bytes = value * unit;
        }
        catch (OverflowException)
        {
            throw BadMemorySize(text, "is too large");
        }

        if (bytes > MachineBuilder.MaximumMemorySizeInBytes)
        {
            throw BadMemorySize(text, $"is more than {FormatSize(MachineBuilder.MaximumMemorySizeInBytes)}");
        }

        if (bytes < MachineBuilder.MinimumMemorySizeInBytes)
        {
            throw BadMemorySize(text, $"is less than {FormatSize(MachineBuilder.MinimumMemorySizeInBytes)}");
        }

        if (bytes != decimal.Truncate(bytes) || (ulong)bytes % MemoryGranularityInBytes != 0)
        {
            throw BadMemorySize(text, "is not a multiple of 4 KiB");
        }

        return (ulong)bytes;
    }

    /// <summary>A size in the largest binary unit that divides it, for messages: <c>1 TiB</c>, <c>1536 MiB</c>.</summary>
    /// <param name="bytes">The size.</param>
    /// <returns>The text.</returns>
    public static string FormatSize(ulong bytes)
    {
        (ulong unit, string name)[] units = [(TiB, "TiB"), (GiB, "GiB"), (MiB, "MiB"), (KiB, "KiB")];
        foreach ((ulong unit, string name) in units)
        {
            if (bytes >= unit && bytes % unit == 0)
            {
                return $"{bytes / unit} {name}";
            }
        }

        return $"{bytes} bytes";
    }

    private static RunOptionsException BadMemorySize(string text, string problem) => new(
        $"-m: '{text}' {problem}; guest RAM must be a multiple of 4 KiB from {FormatSize(MachineBuilder.MinimumMemorySizeInBytes)} "
        + $"to {FormatSize(MachineBuilder.MaximumMemorySizeInBytes)} (for example 2048, 512M or 1.5G)");

    /// <summary>Parses <c>-M TYPE</c>: <c>pc</c> or <c>isapc</c>, optionally as <c>type=TYPE</c>; machine properties are not supported.</summary>
    private static string ParseMachine(string option, string value)
    {
        string[] parts = value.Split(',');
        string name = parts[0].StartsWith("type=", StringComparison.Ordinal) ? parts[0]["type=".Length..] : parts[0];
        if (!MachineTypes.Any(m => m.Name == name))
        {
            throw new RunOptionsException(
                $"{option}: '{name}' is not a supported machine (supported: {string.Join(", ", MachineTypes.Select(m => m.Name))}; QEMU's q35, microvm and others are not emulated)");
        }

        if (parts.Length > 1)
        {
            throw new RunOptionsException($"{option}: machine properties ('{string.Join(",", parts.Skip(1))}') are not supported; give only the machine type");
        }

        return name;
    }

    /// <summary>Parses <c>-d ITEM[,ITEM...]</c>; <c>-d help</c> asks for the list of items.</summary>
    private static RunOptions ParseTrace(RunOptions options, string items)
    {
        MachineTraceEvents events = options.Trace;
        foreach (string item in items.Split(','))
        {
            if (item == "help")
            {
                options = options with { ShowTraceHelp = true };
                continue;
            }

            (string Name, string Description, MachineTraceEvents Events) match = TraceItems.FirstOrDefault(i => i.Name == item);
            if (match.Name is null)
            {
                throw new RunOptionsException(
                    $"-d: '{item}' is not a trace item (use {string.Join(", ", TraceItems.Select(i => i.Name))}, or -d help)");
            }

            events |= match.Events;
        }

        return options with { Trace = events };
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
