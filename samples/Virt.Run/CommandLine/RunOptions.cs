using Virt.Machine;

namespace Virt.Run.CommandLine;

/// <summary>What the command line asked for, validated by <see cref="RunOptionsParser"/>.</summary>
public sealed record RunOptions
{
    /// <summary>Guest RAM in bytes (<c>-m</c>; QEMU's default is 128 MiB).</summary>
    public ulong MemorySizeInBytes { get; init; } = 128UL << 20;

    /// <summary>Firmware image mapped at the reset vector (<c>-bios</c>).</summary>
    public string? BiosPath { get; init; }

    /// <summary>Kernel image: Linux bzImage or Multiboot (<c>-kernel</c>).</summary>
    public string? KernelPath { get; init; }

    /// <summary>Initial ramdisk (<c>-initrd</c>).</summary>
    public string? InitrdPath { get; init; }

    /// <summary>Kernel command line (<c>-append</c>).</summary>
    public string? Append { get; init; }

    /// <summary>Whether a display is shown; <c>-nographic</c> and <c>-display none</c> turn it off.</summary>
    public bool Display { get; init; } = true;

    /// <summary>
    /// Whether <c>-nographic</c> was given: the machine has no graphics at all (QEMU's <c>graphics=off</c>), so with
    /// <c>-M pc</c> SeaBIOS is told to use COM1 as its console; <c>-display none</c> alone does not do that.
    /// </summary>
    public bool NoGraphic { get; init; }

    /// <summary>Where serial port 1 goes (<c>-serial</c>; <c>-nographic</c> implies stdio).</summary>
    public CharacterTarget Serial { get; init; } = CharacterTarget.Default;

    /// <summary>Where the port E9h debug console goes (<c>-debugcon</c>); none when null.</summary>
    public CharacterTarget? DebugConsole { get; init; }

    /// <summary>The port of the <c>-debugcon</c> console (<c>-device isa-debugcon,iobase=N</c>; E9h by default).</summary>
    public ushort DebugConsolePort { get; init; } = 0xE9;

    /// <summary>isa-debug-exit device (<c>-device isa-debug-exit</c>): base port, or null when absent.</summary>
    public ushort? DebugExitPort { get; init; }

    /// <summary>Size in ports of the isa-debug-exit device.</summary>
    public int DebugExitSize { get; init; } = 2;

    /// <summary>
    /// The board (<c>-M</c>/<c>-machine</c>): <c>"pc"</c>, QEMU's PCI PC (i440FX, PIIX3, PIIX4 power management), or
    /// <c>"isapc"</c>, the ISA-only PC; null for the default, the PCI PC (<see cref="IsPcBoard"/>).
    /// </summary>
    public string? MachineType { get; init; }

    /// <summary>Whether the board is QEMU's <c>pc</c> (<c>-M pc</c>, or no <c>-M</c>), not the ISA PC (<c>-M isapc</c>).</summary>
    public bool IsPcBoard => MachineType is null or "pc";

    /// <summary>Whether the std VGA came from <c>-device VGA</c> (which may be given once).</summary>
    public bool VgaDevice { get; init; }

    /// <summary>The VBE video memory of the std VGA (<c>-device VGA,vgamem_mb=</c>), or null for the default, 16 MiB.</summary>
    public ulong? VgaMemorySizeInBytes { get; init; }

    /// <summary>The PCI cards of <c>-device</c> other than the VGA, in command-line order.</summary>
    public IReadOnlyList<PciCardOptions> PciCards { get; init; } = [];

    /// <summary>Print the list of <c>-device</c> names and exit (<c>-device help</c>).</summary>
    public bool ShowDeviceHelp { get; init; }

    /// <summary>The display adapter (<c>-vga</c>): <c>"std"</c>, <c>"none"</c>, or null for the board's default.</summary>
    public string? Vga { get; init; }

    /// <summary>The VGA BIOS for <c>-vga std</c> (<c>--vga-rom</c>), or null for the Debian path.</summary>
    public string? VgaRomPath { get; init; }

    /// <summary>Where to write a PNG of the screen when the run ends (<c>--screenshot</c>), or null.</summary>
    public string? ScreenshotPath { get; init; }

    /// <summary>Where to write the text screen (<c>--screen-text</c>) as UTF-8 lines when the run ends, or null.</summary>
    public string? ScreenTextPath { get; init; }

    /// <summary>The guest gets no ACPI tables (<c>-no-acpi</c>).</summary>
    public bool NoAcpi { get; init; }

    /// <summary>A guest reset stops the machine instead of restarting it (<c>-no-reboot</c>).</summary>
    public bool NoReboot { get; init; }

    /// <summary>CPU model name (<c>-cpu</c>), null for the default.</summary>
    public string? CpuModel { get; init; }

    /// <summary>The CPU's execution tier (<c>--cpu-tier interpreter|compiled</c>).</summary>
    public Virt.Cpu.ExecutionTier CpuTier { get; init; } = Virt.Cpu.ExecutionTier.Interpreter;

    /// <summary>Under the compiled tier, how many interpreted entries precede a block's compilation (<c>--compile-threshold N</c>).</summary>
    public int CompileThreshold { get; init; } = Virt.Cpu.CpuOptions.DefaultCompileThreshold;

    /// <summary>Under the compiled tier, compile hot blocks on a background thread (<c>--background-compile</c>, <see cref="Virt.Cpu.CpuOptions.BackgroundCompilation"/>).</summary>
    public bool BackgroundCompilation { get; init; }

    /// <summary>Print the run's figures and the compiled tier's statistics to standard error at the end (<c>--tier-stats</c>).</summary>
    public bool TierStatistics { get; init; }

    /// <summary>Where the gdb stub listens (<c>-s</c>, <c>-gdb tcp::PORT</c>), or null for no stub.</summary>
    public System.Net.IPEndPoint? GdbEndPoint { get; init; }

    /// <summary>Wait for the debugger before the first instruction (<c>-S</c>).</summary>
    public bool WaitForDebugger { get; init; }

    /// <summary>Instruction budget (<c>--max-instructions</c>), null for none.</summary>
    public long? MaxInstructions { get; init; }

    /// <summary>Wall-clock limit (<c>--timeout</c>), null for none.</summary>
    public TimeSpan? Timeout { get; init; }

    /// <summary>Guest-time limit (<c>--max-guest-time</c>), null for none.</summary>
    public TimeSpan? MaxGuestTime { get; init; }

    /// <summary>Virtual time advances with retired instructions (<c>--deterministic</c>).</summary>
    public bool Deterministic { get; init; }

    /// <summary>Minimum log level (<c>--log-level</c>): trace, debug, information, warning, error, critical, none.</summary>
    public string LogLevel { get; init; } = "warning";

    /// <summary>What to trace (<c>-d</c>), logged at Trace level whatever <see cref="LogLevel"/> says.</summary>
    public MachineTraceEvents Trace { get; init; }

    /// <summary>Add the local APIC and the I/O APIC to the board (<c>--apic</c>).</summary>
    public bool Apic { get; init; }

    /// <summary>Add the HPET to the board (<c>--hpet</c>).</summary>
    public bool Hpet { get; init; }

    /// <summary>Keep resetting a guest caught in a reset loop instead of stopping it (<c>--allow-reset-loop</c>).</summary>
    public bool AllowResetLoop { get; init; }

    /// <summary>Where to write a snapshot (<c>--save-snapshot</c>), at <see cref="SnapshotAtInstructions"/>.</summary>
    public string? SaveSnapshotPath { get; init; }

    /// <summary>After how many guest instructions to write the snapshot (<c>--snapshot-at</c>).</summary>
    public long? SnapshotAtInstructions { get; init; }

    /// <summary>A snapshot to continue from instead of booting (<c>--restore-snapshot</c>).</summary>
    public string? RestoreSnapshotPath { get; init; }

    /// <summary>
    /// The drives (<c>-hda</c>..<c>-hdd</c>, <c>-fda</c>/<c>-fdb</c>, <c>-cdrom</c>, <c>-drive</c>) in command-line order, each
    /// with its final interface and index; no two share an interface and index.
    /// </summary>
    public IReadOnlyList<DriveOptions> Drives { get; init; } = [];

    /// <summary>Every writable drive runs on a temporary copy-on-write overlay that is thrown away at exit (<c>-snapshot</c>).</summary>
    public bool Snapshot { get; init; }

    /// <summary>
    /// The boot order in QEMU's letters (<c>-boot order=</c>: <c>a</c> floppy, <c>c</c> hard disk, <c>d</c> CD-ROM,
    /// <c>n</c> network; at most three), or null for the default, <c>cad</c>.
    /// </summary>
    public string? BootOrder { get; init; }

    /// <summary>
    /// How long the firmware waits after finding nothing to boot before it tries again (<c>-boot reboot-timeout=</c>, in
    /// milliseconds), or null to wait for ever, QEMU's default.
    /// </summary>
    public uint? BootRebootTimeoutMilliseconds { get; init; }

    /// <summary>Print the list of <c>-d</c> items and exit (<c>-d help</c>).</summary>
    public bool ShowTraceHelp { get; init; }

    /// <summary>Print the help text and exit.</summary>
    public bool ShowHelp { get; init; }
}
