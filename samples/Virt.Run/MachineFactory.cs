using Microsoft.Extensions.Logging;
using Virt.Cpu;
using Virt.Devices;
using Virt.Machine;
using Virt.Machine.Boot;
using Virt.Memory;
using Virt.Run.CommandLine;
using Virt.Run.Demo;

namespace Virt.Run;

/// <summary>Turns parsed command-line options into a <see cref="Machine"/>.</summary>
public static class MachineFactory
{
    /// <summary>COM1, where SeaBIOS's serial console goes under <c>-nographic</c> (QEMU's choice).</summary>
    private const ushort SerialConsolePort = 0x3F8;

    /// <summary>
    /// The CPU models <c>-cpu</c> accepts: <c>max</c>, everything implemented (the default, x86-64 <see cref="CpuidModel"/>),
    /// <c>p6</c>, the 32-bit model of earlier versions (<see cref="CpuidModel.P6"/>, no MMX or SSE), and
    /// <c>pentium-pro</c>, which reports only what an original Pentium Pro had: no MMX, FXSR, SSE, SYSENTER or NX.
    /// </summary>
    public static IReadOnlyList<string> CpuModels { get; } = ["max", "p6", "pentium-pro"];

    /// <summary>Where Debian's <c>seabios</c> package puts SeaBIOS: the firmware when drives are given without <c>-bios</c> or <c>-kernel</c>.</summary>
    public const string DefaultBiosPath = "/usr/share/seabios/bios-256k.bin";

    /// <summary>Where Debian's <c>seabios</c> package puts the std VGA's BIOS: the default for <c>--vga-rom</c>.</summary>
    public const string DefaultVgaRomPath = "/usr/share/seabios/vgabios-stdvga.bin";

    /// <summary>The CPUID model for a <c>-cpu</c> name (null: the default).</summary>
    /// <param name="model">A name from <see cref="CpuModels"/>, or null.</param>
    /// <returns>The model.</returns>
    public static CpuidModel CpuidFor(string? model) => model switch
    {
        // The Pentium Pro (family 6, model 1) predates MMX, FXSAVE, SSE and later, and the extended CPUID leaves; it sets CPUID.SEP although
        // SYSENTER does not work on it (Intel SDM Vol. 2B, SYSENTER, "Operating system must check family/model"), so
        // the flag is left clear here.
        "pentium-pro" => CpuidModel.P6 with
        {
            Brand = string.Empty,
            FeaturesEdx = CpuidModel.P6FeaturesEdx & ~((1u << 11) | (1u << 24)),
            FeaturesEcx = 0,
            ExtendedFeaturesEdx = 0,
        },
        "p6" => CpuidModel.P6,
        _ => CpuidModel.Default,
    };

    /// <summary>Builds the machine the options describe.</summary>
    /// <param name="options">The parsed options.</param>
    /// <param name="disposables">Collects files and streams to close when the run ends.</param>
    /// <returns>The machine, ready to run.</returns>
    /// <exception cref="MachineConfigurationException">When a file is missing or corrupt, or the configuration is invalid.</exception>
    /// <exception cref="RunOptionsException">When an option value is not supported or an output file cannot be opened.</exception>
    public static Virt.Machine.Machine Create(RunOptions options, DisposableList disposables)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(disposables);
        if (options.CpuModel is { } model && !CpuModels.Contains(model))
        {
            throw new RunOptionsException($"-cpu: '{model}' is not a supported model (supported: {string.Join(", ", CpuModels)})");
        }

        LogLevel level = options.LogLevel switch
        {
            "trace" => LogLevel.Trace,
            "debug" => LogLevel.Debug,
            "information" => LogLevel.Information,
            "error" => LogLevel.Error,
            "critical" => LogLevel.Critical,
            "none" => LogLevel.None,
            _ => LogLevel.Warning,
        };
        var builder = new MachineBuilder()
            .WithMemorySize(options.MemorySizeInBytes)
            .WithCpu(new CpuOptions { Cpuid = CpuidFor(options.CpuModel), ExecutionTier = options.CpuTier, CompileThreshold = options.CompileThreshold, BackgroundCompilation = options.BackgroundCompilation })
            .WithLoggerFactory(new ConsoleLoggerFactory(level, options.Trace == MachineTraceEvents.None ? null : MachineLogCategories.TracePrefix))
            .WithTrace(options.Trace)
            .WithBoard(options.IsPcBoard ? MachineBoard.Pc : MachineBoard.IsaPc)
            .WithResetBehavior(options.NoReboot ? ResetBehavior.Stop : options.AllowResetLoop ? ResetBehavior.ResetAlways : ResetBehavior.Reset)
            .WithClock(options.Deterministic
                ? new VirtualClockOptions { Mode = VirtualClockMode.Deterministic }
                : new VirtualClockOptions { Mode = VirtualClockMode.RealTime });

        // The pc board has the APICs and the HPET; --apic and --hpet add them to the ISA board.
        if (options.Apic)
        {
            builder.WithApic();
        }

        if (options.Hpet)
        {
            builder.WithHpet();
        }

        if (options.IsPcBoard)
        {
            // QEMU's pc machine: fw_cfg for the firmware, and ACPI tables (the board's default) unless -no-acpi.
            // With no display (-nographic), SeaBIOS mirrors its screen to COM1 through its serial console, as under QEMU.
            builder.WithFirmwareConfig(new FirmwareConfigOptions
            {
                SerialConsolePort = options.NoGraphic ? SerialConsolePort : null,
                BootFailWaitMilliseconds = options.BootRebootTimeoutMilliseconds,
            });
            if (options.NoAcpi)
            {
                builder.WithAcpi(false);
            }
        }
        else if (options.BootRebootTimeoutMilliseconds is not null)
        {
            throw new RunOptionsException("-boot reboot-timeout: the firmware reads it through fw_cfg, which the isapc board does not have (use -M pc)");
        }

        // The drives open (and are checked) before anything else is created, so a bad image stops the run early.
        DriveOpener.Configure(builder, options, disposables, Console.Error);

        ConfigureVga(builder, options);
        AddPciCards(builder, options);
        CharacterTarget serial = options.Serial;
        if (serial.Kind == CharacterTargetKind.Default)
        {
            serial = new CharacterTarget(options.Display ? CharacterTargetKind.Null : CharacterTargetKind.Stdio);
        }

        switch (serial.Kind)
        {
            case CharacterTargetKind.Stdio:
                builder.WithSerialPort(0, disposables.Add(new StreamSerialBackend(Console.OpenStandardInput(), Console.OpenStandardOutput())));
                break;
            case CharacterTargetKind.File:
                builder.WithSerialPort(0, disposables.Add(new StreamSerialBackend(Stream.Null, OpenOutput("-serial", serial.Path!, disposables))));
                break;
            case CharacterTargetKind.Null:
                builder.WithSerialPort(0, new NullSerialBackend());
                break;
            default:
                break;
        }

        if (options.DebugConsole is { } debugcon)
        {
            ICharacterSink sink = debugcon.Kind switch
            {
                CharacterTargetKind.Stdio => disposables.Add(new StreamCharacterSink(Console.OpenStandardOutput())),
                CharacterTargetKind.File => disposables.Add(new StreamCharacterSink(OpenOutput("-debugcon", debugcon.Path!, disposables))),
                _ => new NullCharacterSink(),
            };
            builder.WithDebugConsole(sink, options.DebugConsolePort);
        }

        if (options.DebugExitPort is { } exitPort)
        {
            builder.WithDebugExit(exitPort, options.DebugExitSize);
        }

        if (options.KernelPath is not null)
        {
            builder.WithKernel(options.KernelPath, options.InitrdPath, options.Append);
        }
        else if (options.BiosPath is not null)
        {
            builder.WithFirmware(options.BiosPath);
        }
        else if (options.Drives.Count > 0)
        {
            // Drives are booted by firmware: QEMU's default, SeaBIOS, from where Debian's seabios package puts it.
            if (!File.Exists(DefaultBiosPath))
            {
                throw new RunOptionsException(
                    $"{options.Drives[0].Describe()}: booting from a drive needs firmware, and the default '{DefaultBiosPath}' does not exist (install Debian's seabios package, or give -bios FILE)");
            }

            builder.WithFirmware(DefaultBiosPath);
        }
        else
        {
            builder.WithFlatBinary(DemoGuest.Build(), new PhysicalAddress(DemoGuest.LoadAddress), BootEntryState.RealMode(0, (ushort)DemoGuest.LoadAddress, "built-in demo guest"), "demo guest");
        }

        return builder.Build();
    }

    /// <summary>
    /// The one line to print for a configuration error: the library's message (which speaks of settings and files, not
    /// options), prefixed with the option that gave the setting.
    /// </summary>
    /// <param name="exception">The error.</param>
    /// <returns>The line, without the program name.</returns>
    public static string DescribeConfigurationError(MachineConfigurationException exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        string? option = exception.Setting switch
        {
            MachineSetting.MemorySize => "-m",
            MachineSetting.Firmware => "-bios",
            MachineSetting.Kernel => "-kernel",
            MachineSetting.Initrd => "-initrd",
            MachineSetting.CommandLine => "-append",
            MachineSetting.BootOrder => "-boot",
            _ => null,
        };
        string message = exception.Message.ReplaceLineEndings(" ");
        return option is null ? message : $"{option}: {message}";
    }

    /// <summary>
    /// <c>-vga</c> and <c>-device VGA</c>: std needs the pc board and the VGA BIOS (<c>--vga-rom</c>, <c>romfile=</c> or the
    /// Debian path), and says which file is missing; otherwise the pc board gets std when the BIOS is installed and the
    /// ISA VGA when it is not (a VGA without its BIOS is better served on the ISA side, as on the isapc board).
    /// </summary>
    private static void ConfigureVga(MachineBuilder builder, RunOptions options)
    {
        bool pc = options.IsPcBoard;
        string rom = options.VgaRomPath ?? DefaultVgaRomPath;
        ulong videoMemory = options.VgaMemorySizeInBytes ?? VgaOptions.DefaultVideoMemorySizeInBytes;
        string option = options.VgaDevice ? "-device VGA" : "-vga std";
        string romOption = options.VgaDevice ? "-device VGA,romfile=FILE" : "--vga-rom FILE";
        switch (options.Vga)
        {
            case "none":
                builder.WithVga(VgaKind.None);
                return;
            case "std":
                if (!pc)
                {
                    throw new RunOptionsException($"{option}: the std VGA is a PCI card; the isapc board has no PCI bus (use -M pc)");
                }

                if (!File.Exists(rom))
                {
                    throw new RunOptionsException($"{option}: the VGA BIOS '{rom}' does not exist (install Debian's seabios package, or give {romOption})");
                }

                builder.WithVga(VgaKind.Standard, rom, videoMemory);
                return;
            default:
                if (options.VgaRomPath is not null && !pc)
                {
                    throw new RunOptionsException("--vga-rom: the VGA BIOS is for -vga std on -M pc");
                }

                builder.WithVga(pc && (options.VgaRomPath is not null || File.Exists(rom)) ? VgaKind.Standard : VgaKind.Isa, pc && (options.VgaRomPath is not null || File.Exists(rom)) ? rom : null);
                return;
        }
    }

    /// <summary>The PCI cards of <c>-device</c>: each needs the pc board; two may not ask for the same <c>addr</c>.</summary>
    private static void AddPciCards(MachineBuilder builder, RunOptions options)
    {
        var slots = new HashSet<int>();
        for (int i = 0; i < options.PciCards.Count; i++)
        {
            PciCardOptions card = options.PciCards[i];
            if (!options.IsPcBoard)
            {
                throw new RunOptionsException($"-device {card.Driver}: a PCI card; the isapc board has no PCI bus (use -M pc)");
            }

            if (card.Slot is { } slot && !slots.Add(slot))
            {
                throw new RunOptionsException($"-device {card.Driver},addr={slot:x2}: another -device already sits at device {slot:x2}");
            }

            // QEMU names the second card "edu" too; Virt's device names are unique, so later ones get a number.
            string name = i == 0 ? card.Driver : $"{card.Driver} {i + 1}";
            ulong mask = card.DmaMask;
            builder.AddPciDevice(context => new EduDevice(context.Clock, mask, name), card.Slot);
        }
    }

    private static FileStream OpenOutput(string option, string path, DisposableList disposables)
    {
        try
        {
            return disposables.Add(new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.Read));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            throw new RunOptionsException($"{option}: cannot open '{path}' for writing: {e.Message}", e);
        }
    }
}
