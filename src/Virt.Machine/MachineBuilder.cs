using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Virt.Cpu;
using Virt.Devices;
using Virt.Devices.FwCfg;
using Virt.Machine.Acpi;
using Virt.Machine.Boot;
using Virt.Machine.Smbios;
using Virt.Memory;

namespace Virt.Machine;

/// <summary>
/// Composes a PC-compatible guest machine. Every option is checked in <see cref="Build"/>, which throws
/// <see cref="MachineConfigurationException"/> (and nothing else) naming the option (and file and field) for bad sizes,
/// unreadable or corrupt files, overlapping or duplicate devices and failing device factories; it then disposes
/// whatever it had created. Devices that the host's factories create belong to the machine, which disposes them.
/// </summary>
/// <example>
/// <code>
/// var serial = new BufferCharacterSink();
/// using Machine machine = new MachineBuilder()
///     .WithMemorySize(64UL &lt;&lt; 20)
///     .WithFirmware("bios.bin")
///     .WithSerialPort(0, new NullSerialBackend())
///     .WithDebugExit()
///     .Build();
/// MachineStopReason stop = machine.Run(maxInstructions: 10_000_000);
/// </code>
/// </example>
public sealed partial class MachineBuilder
{
    /// <summary>The smallest guest RAM accepted (1 MiB: a PC needs its conventional memory).</summary>
    public const ulong MinimumMemorySizeInBytes = 1UL << 20;

    /// <summary>The largest guest RAM accepted (1 TiB).</summary>
    public const ulong MaximumMemorySizeInBytes = 1UL << 40;

    /// <summary>The fw_cfg file with the RAM map (QEMU's <c>etc/e820</c>: 64-bit address, 64-bit length, 32-bit type).</summary>
    private const string FirmwareConfigE820File = "etc/e820";

    /// <summary>The fw_cfg file with the boot order.</summary>
    private const string FirmwareConfigBootOrderFile = "bootorder";

    /// <summary>The fw_cfg file with SeaBIOS's serial console port.</summary>
    private const string FirmwareConfigSerialConsoleFile = "etc/sercon-port";

    /// <summary>The fw_cfg file with SeaBIOS's wait before it retries booting.</summary>
    private const string FirmwareConfigBootFailWaitFile = "etc/boot-fail-wait";

    /// <summary>The <c>etc/boot-fail-wait</c> value for "never retry".</summary>
    private const uint BootFailWaitForever = uint.MaxValue;

    private const int FirmwareConfigE820EntrySize = 20;

    private static readonly (string Name, ushort Port, int Irq)[] s_comPorts = [("COM1", 0x3F8, 4), ("COM2", 0x2F8, 3), ("COM3", 0x3E8, 4), ("COM4", 0x2E8, 3)];

    private readonly ISerialBackend?[] _serialBackends = new ISerialBackend?[4];
    private readonly int?[] _serialCaptureCapacities = new int?[4];
    private readonly List<Func<MachineDeviceContext, IPortMappedDevice>> _customDevices = [];
    private readonly List<(string Name, ushort FirstPort, int Count, Func<MachineDeviceContext, IPortDevice> Factory)> _customPortDevices = [];
    private readonly List<(string Name, ulong Address, ulong Size, Func<MachineDeviceContext, IMmioDevice> Factory)> _customMmioDevices = [];
    private ulong _memorySize = 128UL << 20;
    private CpuOptions _cpuOptions = new();
    private VirtualClockOptions _clockOptions = new();
    private ILoggerFactory _loggerFactory = NullLoggerFactory.Instance;
    private ResetBehavior _resetBehavior = ResetBehavior.Reset;
    private ICharacterSink? _debugConsole;
    private ushort _debugConsolePort = 0xE9;
    private IsaDebugExitOptions? _debugExit;
    private bool _strictMemory;
    private BootSource? _boot;
    private DateTimeOffset _rtcStartTime = new(2025, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private MachineTraceEvents _trace;
    private FirmwareConfigOptions? _firmwareConfig;
    private bool _acpi;
    private AcpiPlatformDescription? _acpiPlatform;
    private bool _apic;
    private bool _hpet;

    /// <summary>Creates a builder with the default configuration: 128 MiB of RAM, no boot image, deterministic clock.</summary>
    public MachineBuilder()
    {
    }

    /// <summary>A copy of <paramref name="other"/>'s configuration (the host's backends and factories are the same objects).</summary>
    private MachineBuilder(MachineBuilder other)
    {
        other._serialBackends.CopyTo(_serialBackends, 0);
        other._serialCaptureCapacities.CopyTo(_serialCaptureCapacities, 0);
        _customDevices.AddRange(other._customDevices);
        _customPortDevices.AddRange(other._customPortDevices);
        _customMmioDevices.AddRange(other._customMmioDevices);
        _memorySize = other._memorySize;
        _cpuOptions = other._cpuOptions;
        _clockOptions = other._clockOptions;
        _loggerFactory = other._loggerFactory;
        _resetBehavior = other._resetBehavior;
        _debugConsole = other._debugConsole;
        _debugConsolePort = other._debugConsolePort;
        _debugExit = other._debugExit;
        _strictMemory = other._strictMemory;
        _boot = other._boot;
        _rtcStartTime = other._rtcStartTime;
        _trace = other._trace;
        _firmwareConfig = other._firmwareConfig;
        _acpi = other._acpi;
        _acpiPlatform = other._acpiPlatform;
        _apic = other._apic;
        _hpet = other._hpet;
        _pciBus = other._pciBus;
        _pciDevices.AddRange(other._pciDevices);
        CopyVgaConfiguration(other);
        CopyBoardConfiguration(other);
        CopyStorageBootConfiguration(other);
        CopyStorageConfiguration(other);
        other._floppyDrives.CopyTo(_floppyDrives, 0);
    }

    /// <summary>Sets the guest RAM size (default 128 MiB). RAM is allocated lazily as the guest touches it.</summary>
    /// <param name="sizeInBytes">1 MiB to 1 TiB, a multiple of 4 KiB.</param>
    /// <returns>This builder.</returns>
    public MachineBuilder WithMemorySize(ulong sizeInBytes)
    {
        _memorySize = sizeInBytes;
        return this;
    }

    /// <summary>Sets the CPU options (CPUID vendor, decode cache).</summary>
    /// <param name="options">The options.</param>
    /// <returns>This builder.</returns>
    public MachineBuilder WithCpu(CpuOptions options)
    {
        _cpuOptions = options ?? throw new ArgumentNullException(nameof(options));
        return this;
    }

    /// <summary>Sets the virtual clock options: deterministic (the default) or real time.</summary>
    /// <param name="options">The options.</param>
    /// <returns>This builder.</returns>
    public MachineBuilder WithClock(VirtualClockOptions options)
    {
        _clockOptions = options ?? throw new ArgumentNullException(nameof(options));
        return this;
    }

    /// <summary>Sets the logger factory devices and the machine log through (default: none).</summary>
    /// <param name="loggerFactory">The factory.</param>
    /// <returns>This builder.</returns>
    public MachineBuilder WithLoggerFactory(ILoggerFactory loggerFactory)
    {
        _loggerFactory = loggerFactory ?? throw new ArgumentNullException(nameof(loggerFactory));
        return this;
    }

    /// <summary>Connects serial port <paramref name="index"/> (0 = COM1 at 3F8h/IRQ4 … 3 = COM4 at 2E8h/IRQ3) to a host backend.</summary>
    /// <param name="index">0 to 3.</param>
    /// <param name="backend">The host side of the port.</param>
    /// <returns>This builder.</returns>
    public MachineBuilder WithSerialPort(int index, ISerialBackend backend)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(index, 3);
        _serialBackends[index] = backend ?? throw new ArgumentNullException(nameof(backend));
        _serialCaptureCapacities[index] = null;
        return this;
    }

    /// <summary>
    /// Connects serial port <paramref name="index"/> to a new <see cref="SerialCapture"/> (each built machine gets its
    /// own): the guest's output kept in memory up to a byte budget, read with <see cref="Machine.GetSerialCapture"/> and
    /// waited for with <see cref="Machine.WaitForSerialAsync(string, long, TimeSpan, CancellationToken)"/>.
    /// </summary>
    /// <param name="index">0 (COM1) to 3 (COM4).</param>
    /// <param name="capacityInBytes">The byte budget: the most recent bytes kept (default 1 MiB; at least <see cref="SerialCapture.MinimumCapacityInBytes"/>).</param>
    /// <returns>This builder.</returns>
    public MachineBuilder WithSerialCapture(int index, int capacityInBytes = SerialCapture.DefaultCapacityInBytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(index, 3);
        ArgumentOutOfRangeException.ThrowIfLessThan(capacityInBytes, SerialCapture.MinimumCapacityInBytes);
        _serialBackends[index] = null;
        _serialCaptureCapacities[index] = capacityInBytes;
        return this;
    }

    /// <summary>Adds the port E9h debug console (Bochs/QEMU <c>-debugcon</c>), writing what the guest sends to <paramref name="sink"/>.</summary>
    /// <param name="sink">Where the bytes go.</param>
    /// <param name="port">The port (default E9h).</param>
    /// <returns>This builder.</returns>
    public MachineBuilder WithDebugConsole(ICharacterSink sink, ushort port = 0xE9)
    {
        _debugConsole = sink ?? throw new ArgumentNullException(nameof(sink));
        _debugConsolePort = port;
        return this;
    }

    /// <summary>Adds QEMU's isa-debug-exit device: a write of v stops the machine with exit code <c>(v &lt;&lt; 1) | 1</c>.</summary>
    /// <param name="basePort">The first port (default 501h).</param>
    /// <param name="sizeInPorts">1, 2 or 4 (default 2), the access sizes QEMU's <c>iosize</c> property takes; <see cref="Build"/> refuses others.</param>
    /// <returns>This builder.</returns>
    public MachineBuilder WithDebugExit(ushort basePort = 0x501, int sizeInPorts = 2)
    {
        _debugExit = new IsaDebugExitOptions { BasePort = basePort, SizeInPorts = sizeInPorts };
        return this;
    }

    /// <summary>Chooses what a guest reset or a triple fault does (default: reset and boot again, but stop on a reset loop; see <see cref="ResetBehavior"/>).</summary>
    /// <param name="behavior">The behaviour; <see cref="ResetBehavior.Stop"/> is QEMU's <c>-no-reboot</c>.</param>
    /// <returns>This builder.</returns>
    public MachineBuilder WithResetBehavior(ResetBehavior behavior)
    {
        _resetBehavior = behavior;
        return this;
    }

    /// <summary>
    /// Chooses what the machine traces at Trace level (QEMU's <c>-d</c>): interrupts and exceptions, port I/O, resets;
    /// see <see cref="MachineTraceEvents"/> and <see cref="MachineLogCategories"/>. Default: nothing, at no cost.
    /// </summary>
    /// <param name="events">The events to trace.</param>
    /// <returns>This builder.</returns>
    public MachineBuilder WithTrace(MachineTraceEvents events)
    {
        if ((events & ~MachineTraceEvents.All) != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(events), events, "Unknown trace events.");
        }

        _trace = events;
        return this;
    }

    /// <summary>
    /// Adds the local APIC (xAPIC at FEE00000h, the CPU's interrupt controller, with the 8259A pair behind LINT0) and the
    /// I/O APIC (FEC00000h, 24 pins: ISA IRQ n on pin n, IRQ0 on pin 2), and reports the APIC and TSC-deadline in CPUID.
    /// Every ISA IRQ then reaches both the PIC and the I/O APIC; a guest that never enables the APIC sees the PIC as
    /// before. On by default on <see cref="MachineBoard.Pc"/>, off on <see cref="MachineBoard.IsaPc"/> (<see cref="WithBoard"/>). See docs/apic.md.
    /// </summary>
    /// <param name="enabled">Whether to add them.</param>
    /// <returns>This builder.</returns>
    public MachineBuilder WithApic(bool enabled = true)
    {
        _apic = enabled;
        MarkExplicit(BoardSettings.Apic);
        return this;
    }

    /// <summary>
    /// Adds the HPET (FED00000h, 100 MHz, three timers) with legacy replacement routing: timer 0 on IRQ0 and timer 1 on
    /// IRQ8 instead of the PIT and the RTC while the guest sets LEG_RT_CNF. Its other routes go to the I/O APIC's pins
    /// 20-23 (<see cref="WithApic"/>). On by default on <see cref="MachineBoard.Pc"/>, off on <see cref="MachineBoard.IsaPc"/>. See docs/apic.md.
    /// </summary>
    /// <param name="enabled">Whether to add it.</param>
    /// <returns>This builder.</returns>
    public MachineBuilder WithHpet(bool enabled = true)
    {
        _hpet = enabled;
        MarkExplicit(BoardSettings.Hpet);
        return this;
    }

    /// <summary>Sets the wall-clock time the RTC shows at power-on (default 2025-01-01 00:00:00 UTC, so deterministic runs are identical).</summary>
    /// <param name="startTime">The time.</param>
    /// <returns>This builder.</returns>
    public MachineBuilder WithRtcStartTime(DateTimeOffset startTime)
    {
        _rtcStartTime = startTime;
        return this;
    }

    /// <summary>Makes guest accesses to unmapped memory throw (for tests that must notice stray accesses).</summary>
    /// <param name="strict">Whether to be strict.</param>
    /// <returns>This builder.</returns>
    public MachineBuilder WithStrictMemory(bool strict = true)
    {
        _strictMemory = strict;
        return this;
    }

    /// <summary>
    /// Maps a firmware image at the reset vector, as QEMU's <c>-bios</c>: at the top of the 4 GiB space with its last
    /// 128 KiB also at E0000h-FFFFFh, read-only; the CPU starts at F000:FFF0.
    /// </summary>
    /// <param name="path">The image file (64 KiB to 2 MiB).</param>
    /// <returns>This builder.</returns>
    public MachineBuilder WithFirmware(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        _boot = new BootSource(BootKind.Firmware, path, null, null, null, null, null);
        return this;
    }

    /// <summary>Maps a firmware image held in memory (see <see cref="WithFirmware(string)"/>).</summary>
    /// <param name="image">The image bytes (copied).</param>
    /// <param name="name">A name for messages.</param>
    /// <returns>This builder.</returns>
    public MachineBuilder WithFirmware(ReadOnlySpan<byte> image, string name = "firmware")
    {
        _boot = new BootSource(BootKind.Firmware, name, image.ToArray(), null, null, null, null);
        return this;
    }

    /// <summary>
    /// Boots a kernel directly, as QEMU's <c>-kernel</c>: a Linux bzImage (boot protocol 2.06+, 32-bit entry) or a
    /// Multiboot v1 image, detected from its headers.
    /// </summary>
    /// <param name="kernelPath">The kernel file.</param>
    /// <param name="initrdPath">An initial ramdisk (Linux) or first module (Multiboot), or null.</param>
    /// <param name="commandLine">The kernel command line, or null.</param>
    /// <returns>This builder.</returns>
    public MachineBuilder WithKernel(string kernelPath, string? initrdPath = null, string? commandLine = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(kernelPath);
        _boot = new BootSource(BootKind.Kernel, kernelPath, null, initrdPath, commandLine, null, null);
        return this;
    }

    /// <summary>Loads a flat binary at <paramref name="loadAddress"/> and starts the CPU in <paramref name="entry"/>'s state.</summary>
    /// <param name="image">The bytes (copied).</param>
    /// <param name="loadAddress">Where they go in guest RAM.</param>
    /// <param name="entry">The CPU state to start in (for example <see cref="BootEntryState.RealMode"/>).</param>
    /// <param name="name">A name for messages.</param>
    /// <returns>This builder.</returns>
    public MachineBuilder WithFlatBinary(ReadOnlySpan<byte> image, PhysicalAddress loadAddress, BootEntryState entry, string name = "flat binary")
    {
        ArgumentNullException.ThrowIfNull(entry);
        _boot = new BootSource(BootKind.FlatBinary, name, image.ToArray(), null, null, loadAddress, entry);
        return this;
    }

    /// <summary>
    /// Boots a flat binary read from a file: it is streamed into guest memory at every boot (no copy of the image is kept
    /// in the host process, so a multi-GiB image costs only the guest RAM it fills). The file is opened by
    /// <see cref="Build"/> with <see cref="FileShare.Read"/> (advisory on Unix) and stays open until the machine is
    /// disposed.
    /// </summary>
    /// <param name="path">The image file.</param>
    /// <param name="loadAddress">Where its first byte goes.</param>
    /// <param name="entry">The CPU state at entry.</param>
    /// <returns>This builder.</returns>
    public MachineBuilder WithFlatBinary(string path, PhysicalAddress loadAddress, BootEntryState entry)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(entry);
        _boot = new BootSource(BootKind.FlatBinary, path, null, null, null, loadAddress, entry);
        return this;
    }

    /// <summary>
    /// Adds QEMU's firmware configuration device (fw_cfg: selector 510h, data 511h, DMA 514h) with the items firmware
    /// such as SeaBIOS reads: the signature and DMA feature, RAM size, CPU count, the <c>etc/e820</c> RAM map, the boot
    /// order, SMBIOS tables (<c>etc/smbios/smbios-anchor</c> and <c>etc/smbios/smbios-tables</c>), optionally a kernel,
    /// and the ACPI tables through <c>etc/table-loader</c> when <see cref="WithAcpi"/> is on. Default: on with <see cref="MachineBoard.Pc"/> (with the default options), off on <see cref="MachineBoard.IsaPc"/>.
    /// </summary>
    /// <param name="options">The options (null for the defaults).</param>
    /// <returns>This builder.</returns>
    public MachineBuilder WithFirmwareConfig(FirmwareConfigOptions? options = null)
    {
        _firmwareConfig = options ?? new FirmwareConfigOptions();
        MarkExplicit(BoardSettings.FirmwareConfig);
        return this;
    }

    /// <summary>
    /// Generates ACPI tables (RSDP, RSDT/XSDT, FADT, FACS, MADT, HPET, DSDT) for the board. With firmware they travel
    /// through fw_cfg (so <see cref="WithFirmwareConfig"/> is needed); with a kernel, flat binary or nothing to boot the
    /// machine places them itself: the tables at the top of RAM below the PCI hole (e820 type ACPI) and the RSDP at
    /// F0000h. Default: on with <see cref="MachineBoard.Pc"/> when there is room (see <see cref="WithBoard"/>), off on <see cref="MachineBoard.IsaPc"/>: the tables describe the PCI, APIC and power-management devices of the pc board.
    /// </summary>
    /// <param name="enabled">Whether to generate the tables.</param>
    /// <param name="platform">The board description; null for QEMU's pc layout with the PCI hole at the top of low RAM.</param>
    /// <returns>This builder.</returns>
    public MachineBuilder WithAcpi(bool enabled = true, AcpiPlatformDescription? platform = null)
    {
        _acpi = enabled;
        _acpiPlatform = platform;
        MarkExplicit(BoardSettings.Acpi);
        return this;
    }

    /// <summary>Adds a host-defined port device (created when the machine is built, with access to its clock, IRQs and memory).</summary>
    /// <param name="name">A unique name.</param>
    /// <param name="firstPort">The first port.</param>
    /// <param name="count">The number of ports.</param>
    /// <param name="factory">Creates the device.</param>
    /// <returns>This builder.</returns>
    public MachineBuilder AddPortDevice(string name, ushort firstPort, int count, Func<MachineDeviceContext, IPortDevice> factory)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(factory);
        _customPortDevices.Add((name, firstPort, count, factory));
        return this;
    }

    /// <summary>Adds a host-defined MMIO device.</summary>
    /// <param name="name">A unique region name.</param>
    /// <param name="address">The first physical address.</param>
    /// <param name="sizeInBytes">The window size.</param>
    /// <param name="factory">Creates the device.</param>
    /// <returns>This builder.</returns>
    public MachineBuilder AddMmioDevice(string name, ulong address, ulong sizeInBytes, Func<MachineDeviceContext, IMmioDevice> factory)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(factory);
        _customMmioDevices.Add((name, address, sizeInBytes, factory));
        return this;
    }

    /// <summary>Adds a host-defined device that lists its own port ranges (and is reset and disposed with the machine).</summary>
    /// <param name="factory">Creates the device.</param>
    /// <returns>This builder.</returns>
    public MachineBuilder AddDevice(Func<MachineDeviceContext, IPortMappedDevice> factory)
    {
        _customDevices.Add(factory ?? throw new ArgumentNullException(nameof(factory)));
        return this;
    }

    /// <summary>Validates the configuration, builds the machine and loads its boot image.</summary>
    /// <returns>The machine, at its entry point, ready to run.</returns>
    /// <exception cref="MachineConfigurationException">
    /// When the configuration is invalid, a file cannot be read or is corrupt, or a device factory fails: the only
    /// exception it throws. The message names the option (and file and field); the cause, if any, is the inner
    /// exception. Every device created before the failure has been disposed.
    /// </exception>
    public Machine Build()
    {
        ApplyBoardDefaults();
        ValidateOptions();
        PrepareVga();
        AcpiTableSet? acpiTables = PrepareAcpi();
        bool placeAcpi = acpiTables is not null && _boot?.Kind != BootKind.Firmware;
        ulong acpiAddress = 0;
        IReadOnlyList<E820Entry> e820 = E820Map.CreatePc(_memorySize);
        if (placeAcpi)
        {
            (e820, acpiAddress) = AcpiDirectPlacement.Reserve(e820, acpiTables!);
        }

        // Read the fw_cfg files (a kernel for the firmware) before the boot source opens any file it keeps.
        FwCfgContent? firmwareConfig = _firmwareConfig is null ? null : PrepareFirmwareConfig(_firmwareConfig, acpiTables);
        PreparedBoot boot = PrepareBoot(e820);
        if (placeAcpi)
        {
            Action<Machine> load = boot.Apply;
            boot = boot with
            {
                Apply = machine =>
                {
                    load(machine);
                    if (machine.Devices.OfType<I440fxHostBridge>().FirstOrDefault() is { } hostBridge)
                    {
                        AcpiDirectPlacement.Write(machine.Memory, hostBridge, acpiTables!, acpiAddress);
                    }
                    else
                    {
                        AcpiDirectPlacement.Write(machine.Memory, acpiTables!, acpiAddress);
                    }
                },
            };
        }

        var created = new List<object>();
        if (boot.OwnedResource is { } resource)
        {
            created.Add(resource);
        }

        try
        {
            Machine machine = WithSnapshotOverlays(created).BuildCore(boot, created, firmwareConfig, placeAcpi, fork: null);

            // A copy of the configuration, so Fork builds siblings as this machine was built even if the host goes on
            // changing this builder; the checked boot source is kept as well (forks never read the boot files again).
            machine.ForkTemplate = new ForkTemplate(new MachineBuilder(this), boot.ForFork(), firmwareConfig, placeAcpi);
            return machine;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            DisposeCreated(created, e);
            throw e switch
            {
                MachineConfigurationException configuration => configuration,
                BootImageException image => new MachineConfigurationException(boot.Setting, $"{boot.What}: {image.Message}", image),
                InvalidOperationException => new MachineConfigurationException($"Device layout: {e.Message}", e),
                ArgumentException => new MachineConfigurationException($"Device configuration: {e.Message}", e),
                _ => new MachineConfigurationException($"Build: {e.GetType().Name}: {e.Message}", e),
            };
        }
    }

    /// <summary>Checks the options that need no file and no device: sizes, enumerations, the debug-exit width.</summary>
    private void ValidateOptions()
    {
        if (_memorySize < MinimumMemorySizeInBytes || _memorySize > MaximumMemorySizeInBytes || (_memorySize & 0xFFF) != 0)
        {
            throw new MachineConfigurationException(
                MachineSetting.MemorySize,
                $"Memory size: 0x{_memorySize:X} bytes is not valid; it must be a multiple of 4 KiB from {MinimumMemorySizeInBytes >> 20} MiB to {MaximumMemorySizeInBytes >> 30} GiB.");
        }

        try
        {
            if (_cpuOptions.Cpuid is null)
            {
                throw new ArgumentException("CpuOptions.Cpuid is null.");
            }

            _cpuOptions.Cpuid.Validate();
        }
        catch (ArgumentException e)
        {
            throw new MachineConfigurationException($"WithCpu: {e.Message}", e);
        }

        if (!Enum.IsDefined(_clockOptions.Mode))
        {
            throw new MachineConfigurationException($"WithClock: Mode {(int)_clockOptions.Mode} is not a {nameof(VirtualClockMode)} ({string.Join(", ", Enum.GetNames<VirtualClockMode>())}).");
        }

        try
        {
            _ = new VirtualClock(_clockOptions); // its constructor checks the rate and the lead bound
        }
        catch (ArgumentException e)
        {
            throw new MachineConfigurationException($"WithClock: {e.Message}", e);
        }

        if (!Enum.IsDefined(_resetBehavior))
        {
            throw new MachineConfigurationException($"WithResetBehavior: {(int)_resetBehavior} is not a {nameof(ResetBehavior)} ({string.Join(", ", Enum.GetNames<ResetBehavior>())}).");
        }

        if (_debugExit is { } exit)
        {
            // QEMU's isa-debug-exit takes an iosize of 1, 2 or 4: the widths of an x86 port access.
            if (exit.SizeInPorts is not (1 or 2 or 4))
            {
                throw new MachineConfigurationException($"WithDebugExit: sizeInPorts {exit.SizeInPorts} is not supported; isa-debug-exit spans 1, 2 or 4 ports (QEMU's iosize).");
            }

            if (exit.BasePort + exit.SizeInPorts > IoPortSpace.PortCount)
            {
                throw new MachineConfigurationException($"WithDebugExit: {exit.SizeInPorts} ports from basePort {exit.BasePort:X4}h run past port FFFFh.");
            }
        }

        if (_acpi && _boot?.Kind == BootKind.Firmware && _firmwareConfig is null)
        {
            throw new MachineConfigurationException("WithAcpi: firmware gets the ACPI tables through fw_cfg; add WithFirmwareConfig() as well.");
        }

        if (_acpi && _boot?.Kind != BootKind.Firmware && _memorySize < 2 * MinimumMemorySizeInBytes)
        {
            throw new MachineConfigurationException(MachineSetting.MemorySize, "WithAcpi: the machine places the ACPI tables in RAM above 1 MiB; give the guest at least 2 MiB.");
        }

        if (_firmwareConfig is { } fwCfg && (fwCfg.Device is null || fwCfg.Smbios is null || fwCfg.BootOrder is null || fwCfg.CommandLine is null || fwCfg.LegacyBootOrder is null))
        {
            throw new MachineConfigurationException("WithFirmwareConfig: Device, Smbios, BootOrder, LegacyBootOrder and CommandLine must not be null.");
        }

        if (_firmwareConfig is { } checkedFwCfg)
        {
            try
            {
                _ = CmosBootOrder.Encode(checkedFwCfg.LegacyBootOrder);
            }
            catch (ArgumentException e)
            {
                throw new MachineConfigurationException($"WithFirmwareConfig: LegacyBootOrder: {e.Message}", e);
            }
        }

        ValidateStorageBootOptions();
        ValidateFloppyDrives();
        if (_boot is { Kind: BootKind.FlatBinary, Entry: { } entry } && !Enum.IsDefined(entry.Mode))
        {
            throw new MachineConfigurationException(
                MachineSetting.FlatBinary,
                $"Flat binary: '{_boot.Name}': entry {nameof(BootEntryState.Mode)} {(int)entry.Mode} is not a {nameof(BootCpuMode)} ({string.Join(", ", Enum.GetNames<BootCpuMode>())}).");
        }

        if (_boot is { Kind: BootKind.Kernel, CommandLine: { } commandLine } && commandLine.IndexOf('\0', StringComparison.Ordinal) is int nul and >= 0)
        {
            throw new MachineConfigurationException(MachineSetting.CommandLine, $"Kernel command line: a NUL character at index {nul}; kernels read it as a NUL-terminated string.");
        }
    }

    /// <summary>Disposes what a failed build created, newest first; a failure to dispose is attached to the build's error.</summary>
    private static void DisposeCreated(List<object> created, Exception buildError)
    {
        for (int i = created.Count - 1; i >= 0; i--)
        {
            try
            {
                (created[i] as IDisposable)?.Dispose();
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                buildError.Data[$"Dispose {i}"] = e.Message;
            }
        }
    }

    /// <summary>Calls a host's device factory, naming the device when it fails or returns nothing.</summary>
    private static T CreateCustomDevice<T>(string what, Func<MachineDeviceContext, T> factory, MachineDeviceContext context, List<object> created)
        where T : class
    {
        T? device;
        try
        {
            device = factory(context);
        }
        catch (Exception e) when (e is not (OutOfMemoryException or MachineConfigurationException))
        {
            throw new MachineConfigurationException($"{what}: the device factory threw {e.GetType().Name}: {e.Message}", e);
        }

        if (device is null)
        {
            throw new MachineConfigurationException($"{what}: the device factory returned null.");
        }

        if (!created.Contains(device))
        {
            created.Add(device);
        }

        return device;
    }

    /// <summary>Refuses two devices (board, custom, port or MMIO) of the same name: messages, logs and snapshots tell devices apart by name.</summary>
    private static void CheckUniqueNames(IEnumerable<(string Name, string Option)> names)
    {
        var seen = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach ((string name, string option) in names)
        {
            if (!seen.TryAdd(name, option))
            {
                throw new MachineConfigurationException($"{option}: the device name '{name}' is already used by {seen[name]}; device names must be unique.");
            }
        }
    }

    private Machine BuildCore(PreparedBoot boot, List<object> created, FwCfgContent? firmwareConfig, bool acpiBiosArea, ForkOptions? fork)
    {
        var ports = new IoPortSpace();
        var clock = new VirtualClock(_clockOptions, _loggerFactory.CreateLogger<VirtualClock>());
        var pic = new Pic8259Pair(logger: _loggerFactory.CreateLogger<Pic8259Pair>());
        var memoryProxy = new LateBoundGuestMemory();
        var devices = new List<IDevice> { pic };
        var mapBuilder = new PhysicalMemoryMapBuilder(new MemoryMapOptions { Strict = _strictMemory });
        IReadOnlyList<AddressRange> ramRanges = AddPcRam(mapBuilder);

        if (_pciBus)
        {
            // The PCI board's BIOS area is PAM-controlled shadow ROM instead of a plain alias of the firmware.
            PciBoard.AddBiosArea(mapBuilder, boot.Firmware);
        }
        else
        {
            boot.Firmware?.AddTo(mapBuilder);
        }

        if (acpiBiosArea && !_pciBus)
        {
            // Without firmware nothing backs E0000h-FFFFFh; the RSDP must be found there, so RAM stands in for the BIOS ROM.
            // (On the PCI board the PAM segments' shadow RAM holds it: AcpiDirectPlacement opens them as firmware would.)
            mapBuilder.AddRam("acpi-bios-area", new PhysicalAddress(AcpiDirectPlacement.BiosAreaStart), AcpiDirectPlacement.BiosAreaSizeInBytes);
        }

        // x2APIC is a property of the CPU model (CPUID.1:ECX bit 21); without an APIC on the board the bit is cleared below.
        ApicBoard? apic = _apic ? new ApicBoard(clock, pic, _loggerFactory, (_cpuOptions.Cpuid.FeaturesEcx & CpuidModel.X2ApicFeatureEcx) != 0) : null;
        var irqs = new IsaInterruptRouting(pic, apic?.IoApic);
        var timedWindows = new List<ClockSynchronizingMmioDevice>();
        if (apic is not null)
        {
            devices.Add(apic.LocalApic);
            devices.Add(apic.IoApic);
            apic.AddTo(mapBuilder);
        }

        // The platform control needs the machine, and devices need the platform control before the machine exists:
        // the machine hands it over through this forwarder once constructed.
        var platform = new ForwardingPlatformControl();
        var context = new MachineDeviceContext(clock, irqs, memoryProxy, platform, _loggerFactory);

        var captures = new SerialCapture?[4];
        for (int i = 0; i < 4; i++)
        {
            if (_serialCaptureCapacities[i] is { } capacity)
            {
                captures[i] = new SerialCapture(capacity);
            }

            // A fork cannot share the parent's host stream (two threads would write it): it gets the one the host gave, or none.
            ISerialBackend? hostBackend = _serialBackends[i] is null || fork is null
                ? _serialBackends[i]
                : fork.SerialBackends.GetValueOrDefault(i) ?? new NullSerialBackend();
            if ((hostBackend ?? captures[i]) is { } backend)
            {
                (string name, ushort port, int irq) = s_comPorts[i];
                var options = new UartOptions { Name = name, BasePort = port, Irq = irq };
                devices.Add(new Uart16550(options, irqs.CreateLine(irq, name), clock, backend, _loggerFactory.CreateLogger<Uart16550>()));
            }
        }

        // The PC board (IBM PC/AT compatible): PIT on IRQ0 with port 61h, RTC/CMOS on IRQ8, VGA text memory.
        IInterruptLine pitLine = irqs.CreateLine(0, "PIT");
        IInterruptLine rtcLine = irqs.CreateLine(8, "RTC");
        if (_hpet)
        {
            // The HPET's legacy replacement mode takes IRQ0 and IRQ8 from the PIT and the RTC (HPET spec 2.3.5).
            var pitSwitch = new SwitchableInterruptLine(pitLine);
            var rtcSwitch = new SwitchableInterruptLine(rtcLine);
            pitLine = pitSwitch;
            rtcLine = rtcSwitch;
            IInterruptLine?[] hpetPins = apic is null ? [] : [.. Enumerable.Range(0, IoApic.PinCount).Select(p => (IInterruptLine?)apic.IoApic.CreateInputLine(p, "HPET"))];
            var hpet = new Hpet(clock, hpetPins, irqs.CreateLine(0, "HPET timer 0"), irqs.CreateLine(8, "HPET timer 1"))
            {
                LegacyReplacementChanged = legacy =>
                {
                    pitSwitch.Connected = !legacy;
                    rtcSwitch.Connected = !legacy;
                },
            };
            devices.Add(hpet);
            var hpetWindow = new ClockSynchronizingMmioDevice(hpet);
            timedWindows.Add(hpetWindow);
            mapBuilder.AddMmio("HPET", new PhysicalAddress(Hpet.DefaultBaseAddress), Hpet.WindowSizeInBytes, hpetWindow);
        }

        var pit = new Pit8254(clock, pitLine, _loggerFactory.CreateLogger<Pit8254>());
        devices.Add(pit);
        devices.Add(new SystemControlPortB(clock, pit));
        var rtc = new Rtc146818(clock, rtcLine, new Rtc146818Options { StartTime = _rtcStartTime }, _loggerFactory.CreateLogger<Rtc146818>());
        devices.Add(rtc);
        AddDmaAndFloppy(devices, memoryProxy, irqs, clock, rtc);
        VgaAdapter? vga = CreateVga(devices, mapBuilder);

        devices.Add(new KeyboardController8042(irqs.CreateLine(1, "i8042 keyboard"), irqs.CreateLine(12, "i8042 mouse"), clock, platform, logger: _loggerFactory.CreateLogger<KeyboardController8042>()));
        devices.Add(new SystemControlPortA(platform));
        devices.Add(new PostCodePort(clock: clock));
        if (_debugConsole is not null)
        {
            devices.Add(new DebugConsole(fork is null ? _debugConsole : fork.DebugConsole ?? new NullCharacterSink(), new DebugConsoleOptions { Port = _debugConsolePort }));
        }

        if (_debugExit is not null)
        {
            devices.Add(new IsaDebugExit(platform, _debugExit));
        }

        if (firmwareConfig is not null)
        {
            devices.Add(new FwCfgDevice(firmwareConfig, memoryProxy, _firmwareConfig!.Device, _loggerFactory.CreateLogger<FwCfgDevice>()));
        }

        if (CreateIsaIde(irqs) is { } isaIde)
        {
            devices.Add(isaIde);
        }

        PciBoard? pciBoard = CreatePciBoard(ports, memoryProxy, irqs, apic, clock, platform, context, created, CreateVgaCard(vga));
        if (pciBoard is not null)
        {
            devices.AddRange(pciBoard.ChipsetDevices);
            if ((_trace & MachineTraceEvents.Pci) != 0)
            {
                pciBoard.Bus.Observer = new PciTraceObserver(_loggerFactory);
            }
        }

        int builtInDevices = devices.Count;
        int pciCards = pciBoard is null ? 0 : pciBoard.Bus.Devices.Count - pciBoard.ChipsetFunctionCount;
        if (pciBoard is not null)
        {
            devices.AddRange(pciBoard.Bus.Devices.Skip(pciBoard.ChipsetFunctionCount));
        }

        for (int i = 0; i < _customDevices.Count; i++)
        {
            devices.Add(CreateCustomDevice($"AddDevice (device {i + 1})", _customDevices[i], context, created));
        }

        var customPortDevices = new List<IPortDevice>();
        foreach ((string name, _, _, Func<MachineDeviceContext, IPortDevice> factory) in _customPortDevices)
        {
            customPortDevices.Add(CreateCustomDevice($"AddPortDevice '{name}'", factory, context, created));
        }

        var customMmioDevices = new List<IMmioDevice>();
        foreach ((string name, _, _, Func<MachineDeviceContext, IMmioDevice> factory) in _customMmioDevices)
        {
            customMmioDevices.Add(CreateCustomDevice($"AddMmioDevice '{name}'", factory, context, created));
        }

        CheckUniqueNames(devices.Select((d, i) => (d.Name, i < builtInDevices ? "the board" : i < builtInDevices + pciCards ? $"AddPciDevice (card {i - builtInDevices + 1})" : $"AddDevice (device {i - builtInDevices - pciCards + 1})"))
            .Concat(_customPortDevices.Select(d => (d.Name, $"AddPortDevice '{d.Name}'")))
            .Concat(_customMmioDevices.Select(d => (d.Name, $"AddMmioDevice '{d.Name}'"))));

        foreach (IDevice device in devices)
        {
            if (device is IPortMappedDevice portMapped)
            {
                // The 8254, port 61h and the POST port sit on the ISA (LPC) bus: their accesses take ISA time, which guests
                // use as a delay (see IsaBusPortDevice).
                bool isaTiming = device is Pit8254 or SystemControlPortB or PostCodePort;
                foreach (PortBinding binding in portMapped.PortBindings)
                {
                    IPortDevice target = isaTiming ? new IsaBusPortDevice(binding.Device, clock) : binding.Device;
                    ports.Register(binding.Name, binding.FirstPort, binding.Count, target);
                }
            }
        }

        for (int i = 0; i < _customPortDevices.Count; i++)
        {
            (string name, ushort firstPort, int count, _) = _customPortDevices[i];
            ports.Register(name, firstPort, count, customPortDevices[i]);
        }

        for (int i = 0; i < _customMmioDevices.Count; i++)
        {
            (string name, ulong address, ulong size, _) = _customMmioDevices[i];
            mapBuilder.AddMmio(name, new PhysicalAddress(address), size, customMmioDevices[i]);
        }

        pciBoard?.AddBarRegions(mapBuilder);
        PhysicalMemoryMap memory = mapBuilder.Build();
        memoryProxy.Bind(memory);
        pciBoard?.Bind(memory);
        // The CMOS counts extended memory from 1 MiB: with only conventional RAM (a 1 MiB guest) there is none, and the
        // top of low RAM is 1 MiB (the 384 KiB between 640 KiB and 1 MiB are the VGA window and ROMs, as on a PC).
        ulong lowRam = Math.Max(ramRanges.Where(r => r.Start.Value < E820Map.FourGigabytes).Max(r => r.LastAddress.Value) + 1, E820Map.ExtendedMemoryStart);
        ulong aboveFourGigabytes = ramRanges.Where(r => r.Start.Value >= E820Map.FourGigabytes).Aggregate(0UL, (sum, r) => sum + r.SizeInBytesMinusOne + 1);
        rtc.SetMemorySize((long)lowRam, (long)aboveFourGigabytes);
        IdeCmos.Write(rtc, IdeOptions.Drives);
        if (EffectiveBootOrder is { } bootOrder)
        {
            (byte first, byte third) = CmosBootOrder.Encode(bootOrder);
            rtc.WriteCmos(CmosBootOrder.FirstAndSecondOffset, first);
            rtc.WriteCmos(CmosBootOrder.ThirdOffset, third);
        }
        var machine = new Machine(
            memory,
            ports,
            clock,
            pic,
            devices,
            [.. created.Where(o => !devices.Contains(o))],
            new BoardWiring(irqs, apic, timedWindows),
            _resetBehavior,
            fork is not null
                ? SkipFirstBoot(boot.Apply)
                : pciBoard is not null && boot.Setting == MachineSetting.Kernel
                    ? machine =>
                    {
                        // No firmware runs before a directly booted kernel: set up the chipset as SeaBIOS would.
                        pciBoard.ConfigureAsFirmwareWould(machine.Ports);
                        boot.Apply(machine);
                    }
                    : boot.Apply,
            _loggerFactory,
            apic?.Configure(_cpuOptions) ?? _cpuOptions with { Cpuid = _cpuOptions.Cpuid with { FeaturesEcx = _cpuOptions.Cpuid.FeaturesEcx & ~CpuidModel.X2ApicFeatureEcx } },
            _trace,
            (machine, machinePlatform) =>
            {
                platform.Target = machinePlatform;
                var resetControl = new ResetControlRegister(machinePlatform);
                if (pciBoard is not null)
                {
                    // CF9h sits inside the PCI CONFIG_ADDRESS range CF8h-CFBh: the bus passes byte accesses there on.
                    pciBoard.Bus.ResetControlPort = resetControl;
                }
                else
                {
                    ports.Register("reset control", 0xCF9, 1, resetControl);
                }

                return resetControl;
            });
        machine.AttachSerialCaptures(captures);
        return machine;
    }

    /// <summary>
    /// A fork's boot action: nothing at its power-on (its RAM and CPU come from the parent, and loading the image again
    /// would cost time and unshare pages), the parent's boot on every later reset, as the parent would.
    /// </summary>
    private static Action<Machine> SkipFirstBoot(Action<Machine> apply)
    {
        bool skip = true;
        return machine =>
        {
            if (skip)
            {
                skip = false;
                return;
            }

            apply(machine);
        };
    }

    /// <summary>Reads and validates the boot files before anything is built, so a bad file leaves nothing half-built.</summary>
    private PreparedBoot PrepareBoot(IReadOnlyList<E820Entry> e820)
    {
        if (_boot is null)
        {
            return new PreparedBoot(null, _ => { }, MachineSetting.None, "Boot");
        }

        BootSource b = _boot;
        switch (b.Kind)
        {
            case BootKind.Firmware:
            {
                byte[] bytes = b.Image ?? ReadFile(MachineSetting.Firmware, "firmware image", b.Name);
                FirmwareImage firmware = Wrap(MachineSetting.Firmware, "Firmware image", () => FirmwareImage.FromBytes(bytes, b.Name));
                return new PreparedBoot(firmware, _ => { }, MachineSetting.Firmware, "Firmware image");
            }

            case BootKind.FlatBinary when b.Image is null:
                return PrepareFlatBinaryFile(b, e820);

            case BootKind.FlatBinary:
            {
                byte[] bytes = b.Image!;
                BootEntryState entry = b.Entry!;
                PhysicalAddress address = b.LoadAddress!.Value;
                ValidateInRam(MachineSetting.FlatBinary, "Flat binary", b.Name, e820, address, (ulong)bytes.Length);

                // Dry run into memory that keeps nothing: an empty image or a boot GDT that overlaps the image, lies
                // outside RAM or wraps at 4 GiB fails here, before the machine exists.
                Wrap(MachineSetting.FlatBinary, "Flat binary", () => FlatBinaryLoader.Load(new DiscardingGuestMemory(), new MemoryStream(bytes, writable: false), b.Name, address, entry, e820));
                return new PreparedBoot(
                    null,
                    machine =>
                    {
                        BootLoadResult result = FlatBinaryLoader.Load(machine.Memory, new MemoryStream(bytes, writable: false), b.Name, address, entry, e820);
                        BootEntryApplier.Apply(machine, result.Entry);
                    },
                    MachineSetting.FlatBinary,
                    "Flat binary");
            }

            default:
            {
                byte[] kernel = ReadFile(MachineSetting.Kernel, "kernel image", b.Name);
                byte[]? initrd = b.InitrdPath is null ? null : ReadFile(MachineSetting.Initrd, "initial ramdisk", b.InitrdPath);
                KernelImageFormat format = KernelImageProbe.Detect(kernel);
                string commandLine = b.CommandLine ?? string.Empty;

                // Multiboot kernels get the kernel's file name first, then the arguments, as QEMU and GRUB pass them.
                string multibootCommandLine = b.Name + " " + commandLine;

                // One loader call serves both the dry run below and every (re)boot of the machine.
                Func<IGuestMemory, BootEntryState> load = format switch
                {
                    KernelImageFormat.LinuxBzImage => memory => LinuxBootLoader.Load(memory, new MemoryStream(kernel, writable: false), b.Name, new LinuxBootOptions
                    {
                        MemoryMap = e820,
                        CommandLine = commandLine,
                        Initrd = initrd is null ? null : new MemoryStream(initrd, writable: false),
                        InitrdName = b.InitrdPath ?? "initrd",
                    }).Entry,
                    KernelImageFormat.Multiboot => memory => MultibootLoader.Load(memory, new MemoryStream(kernel, writable: false), b.Name, new MultibootOptions
                    {
                        MemoryMap = e820,
                        CommandLine = multibootCommandLine,
                        Modules = initrd is null ? [] : [new MultibootModuleSource(new MemoryStream(initrd, writable: false), b.InitrdPath!, b.InitrdPath!)],
                    }).Entry,
                    _ => throw new MachineConfigurationException(MachineSetting.Kernel, $"Kernel image '{b.Name}' is neither a Linux bzImage (no 'HdrS' setup header at offset 0x202) nor a Multiboot image (no header in its first 8 KiB)."),
                };

                // Dry run into a scratch map of the same layout, so a corrupt image fails here, before the machine exists.
                var scratch = new PhysicalMemoryMapBuilder();
                AddPcRam(scratch);
                PhysicalMemoryMap scratchMap = scratch.Build();
                Wrap(MachineSetting.Kernel, "Kernel image", () => load(scratchMap));
                return new PreparedBoot(null, machine => BootEntryApplier.Apply(machine, load(machine.Memory)), MachineSetting.Kernel, "Kernel image");
            }
        }
    }

    /// <summary>Generates the ACPI tables when they are on; a bad description is the host's mistake, reported as such.</summary>
    private AcpiTableSet? PrepareAcpi()
    {
        if (!_acpi)
        {
            return null;
        }

        IReadOnlyList<AddressRange> ram = E820Map.CreatePcRamRanges(_memorySize);
        ulong lowTop = ram.Where(r => r.Start.Value < E820Map.FourGigabytes).Max(r => r.LastAddress.Value) + 1;
        AcpiPlatformDescription platform = _acpiPlatform ?? new AcpiPlatformDescription { PciHoleStart = (uint)Math.Max(lowTop, E820Map.ExtendedMemoryStart) };
        try
        {
            return AcpiTableBuilder.Build(platform);
        }
        catch (ArgumentException e)
        {
            throw new MachineConfigurationException($"WithAcpi: {e.Message}", e);
        }
    }

    /// <summary>The fw_cfg items: what QEMU's pc machine gives SeaBIOS, derived from this configuration.</summary>
    private FwCfgContent PrepareFirmwareConfig(FirmwareConfigOptions options, AcpiTableSet? acpi)
    {
        IReadOnlyList<AddressRange> ram = E820Map.CreatePcRamRanges(_memorySize);
        ulong lowTop = ram.Where(r => r.Start.Value < E820Map.FourGigabytes).Max(r => r.LastAddress.Value) + 1;
        ulong high = ram.Where(r => r.Start.Value >= E820Map.FourGigabytes).Aggregate(0UL, (sum, r) => sum + r.SizeInBytesMinusOne + 1);
        var content = new FwCfgContent()
            .SetUInt64(FwCfgKeys.RamSize, _memorySize)
            .SetUInt16(FwCfgKeys.NumberOfCpus, 1)
            .SetUInt16(FwCfgKeys.MaxCpus, 1)
            .SetUInt32(FwCfgKeys.Irq0Override, 1);

        // etc/e820 lists RAM only, as QEMU's does: the firmware reserves its own areas (the EBDA, the BIOS, its tables).
        var e820 = new List<byte>();
        foreach ((ulong start, ulong size) in new[] { (0UL, lowTop), (E820Map.FourGigabytes, high) }.Where(r => r.Item2 > 0))
        {
            byte[] entry = new byte[FirmwareConfigE820EntrySize];
            System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(entry, start);
            System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(entry.AsSpan(8), size);
            System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(entry.AsSpan(16), (uint)E820EntryType.Ram);
            e820.AddRange(entry);
        }

        content.AddFile(FirmwareConfigE820File, [.. e820]);
        if (options.BootOrder.Length > 0)
        {
            content.AddTextFile(FirmwareConfigBootOrderFile, options.BootOrder);
        }

        if (options.SerialConsolePort is { } serialConsole)
        {
            byte[] port = new byte[sizeof(ushort)];
            System.Buffers.Binary.BinaryPrimitives.WriteUInt16LittleEndian(port, serialConsole);
            content.AddFile(FirmwareConfigSerialConsoleFile, port);
        }

        byte[] bootFailWait = new byte[sizeof(uint)];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(bootFailWait, options.BootFailWaitMilliseconds ?? BootFailWaitForever);
        content.AddFile(FirmwareConfigBootFailWaitFile, bootFailWait);

        if (options.SmbiosEnabled)
        {
            CpuidModel cpuid = _cpuOptions.Cpuid;
            SmbiosTables smbios = SmbiosBuilder.Build(options.Smbios, lowTop, high, 1, cpuid.Signature, cpuid.FeaturesEdx);
            content.AddFile(SmbiosTables.AnchorFile, smbios.Anchor);
            content.AddFile(SmbiosTables.TablesFile, smbios.Tables);
        }

        if (acpi is not null)
        {
            content.AddFile(AcpiTableSet.TablesFile, acpi.Tables);
            content.AddFile(AcpiTableSet.RsdpFile, acpi.Rsdp);
            content.AddFile(AcpiTableLoader.FileName, AcpiTableLoader.Build(acpi));
        }

        if (options.KernelPath is { } kernelPath)
        {
            byte[] kernel = ReadFile(MachineSetting.Kernel, "kernel image", kernelPath);
            byte[]? initrd = options.InitrdPath is null ? null : ReadFile(MachineSetting.Initrd, "initial ramdisk", options.InitrdPath);
            Wrap(MachineSetting.Kernel, "Kernel image", () =>
            {
                FirmwareConfigKernel.Add(content, kernel, initrd, options.CommandLine, lowTop, kernelPath);
                return true;
            });
        }

        return content;
    }

    /// <summary>Adds the PC's RAM regions for the configured size (below 640 KiB, from 1 MiB, above 4 GiB).</summary>
    private IReadOnlyList<AddressRange> AddPcRam(PhysicalMemoryMapBuilder builder)
    {
        IReadOnlyList<AddressRange> ranges = E820Map.CreatePcRamRanges(_memorySize);
        string[] names = ["ram-conventional", "ram-extended", "ram-above-4g"];
        for (int i = 0; i < ranges.Count; i++)
        {
            builder.AddRam(names[i], ranges[i].Start, ranges[i].SizeInBytesMinusOne + 1);
        }

        return ranges;
    }

    private static void ValidateInRam(MachineSetting setting, string what, string name, IReadOnlyList<E820Entry> e820, PhysicalAddress address, ulong size)
    {
        E820Entry? ram = E820Map.FindRam(e820, address);
        if (ram is null || size > ram.Value.Start.Value + ram.Value.SizeInBytes - address.Value)
        {
            throw new MachineConfigurationException(setting, $"{what} '{name}' ({size} bytes at {address}) does not fit in guest RAM.");
        }
    }

    /// <summary>
    /// Runs a loader or image check, turning its errors into <see cref="MachineConfigurationException"/> about
    /// <paramref name="setting"/>: a corrupt image (<see cref="BootImageException"/>, which names the file and field) or an
    /// argument the loader refuses (a command line it cannot pass, reported as <see cref="MachineSetting.CommandLine"/>; an
    /// entry state it cannot honour).
    /// </summary>
    private static T Wrap<T>(MachineSetting setting, string what, Func<T> action)
    {
        try
        {
            return action();
        }
        catch (BootImageException e)
        {
            if (e.Field == "cmdline_size")
            {
                throw new MachineConfigurationException(MachineSetting.CommandLine, $"Kernel command line: {e.Message}", e);
            }

            throw new MachineConfigurationException(setting, $"{what}: {e.Message}", e);
        }
        catch (ArgumentException e)
        {
            if (e.ParamName == "commandLine")
            {
                throw new MachineConfigurationException(MachineSetting.CommandLine, $"Kernel command line: {e.Message}", e);
            }

            throw new MachineConfigurationException(setting, $"{what}: {e.Message}", e);
        }
    }

    /// <summary>
    /// A flat binary from a file: the file stays open (owned by the machine) and is streamed into guest memory at every
    /// boot. The dry run streams it once into memory that keeps nothing, so a bad image fails here.
    /// </summary>
    private static PreparedBoot PrepareFlatBinaryFile(BootSource b, IReadOnlyList<E820Entry> e820)
    {
        BootEntryState entry = b.Entry!;
        PhysicalAddress address = b.LoadAddress!.Value;
        FileStream file;
        try
        {
            file = new FileStream(b.Name, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1, FileOptions.SequentialScan);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException or ArgumentException)
        {
            throw new MachineConfigurationException(MachineSetting.FlatBinary, $"Cannot read the flat binary '{b.Name}': {e.Message}", e);
        }

        try
        {
            ValidateInRam(MachineSetting.FlatBinary, "Flat binary", b.Name, e820, address, (ulong)file.Length);
            Wrap(MachineSetting.FlatBinary, "Flat binary", () =>
            {
                file.Position = 0;
                return FlatBinaryLoader.Load(new DiscardingGuestMemory(), file, b.Name, address, entry, e820);
            });
        }
        catch
        {
            file.Dispose();
            throw;
        }

        return new PreparedBoot(
            null,
            machine =>
            {
                file.Position = 0;
                BootLoadResult result = FlatBinaryLoader.Load(machine.Memory, file, b.Name, address, entry, e820);
                BootEntryApplier.Apply(machine, result.Entry);
            },
            MachineSetting.FlatBinary,
            "Flat binary")
        {
            OwnedResource = file,

            // A fork resets on its own thread: it opens the file for each boot rather than share the parent's stream.
            IndependentApply = machine =>
            {
                using var own = new FileStream(b.Name, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1, FileOptions.SequentialScan);
                BootLoadResult result = FlatBinaryLoader.Load(machine.Memory, own, b.Name, address, entry, e820);
                BootEntryApplier.Apply(machine, result.Entry);
            },
        };
    }

    private static byte[] ReadFile(MachineSetting setting, string what, string path)
    {
        try
        {
            return File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException or ArgumentException)
        {
            throw new MachineConfigurationException(setting, $"Cannot read the {what} '{path}': {e.Message}", e);
        }
    }

    private enum BootKind
    {
        Firmware,
        Kernel,
        FlatBinary,
    }

    private sealed record BootSource(BootKind Kind, string Name, byte[]? Image, string? InitrdPath, string? CommandLine, PhysicalAddress? LoadAddress, BootEntryState? Entry);

    /// <summary>The checked boot source: a firmware image to map, what every (re)boot does, and the option to name in errors.</summary>
    internal sealed record PreparedBoot(FirmwareImage? Firmware, Action<Machine> Apply, MachineSetting Setting, string What)
    {
        /// <summary>A host resource the boot action reads at every boot (an open image file), disposed with the machine.</summary>
        public IDisposable? OwnedResource { get; init; }

        /// <summary>A boot action for forks that holds no host resource of the parent's (it opens the image file itself), or null when <see cref="Apply"/> holds none.</summary>
        public Action<Machine>? IndependentApply { get; init; }

        /// <summary>This boot for forks: the same checks done, no resource of the parent's shared.</summary>
        public PreparedBoot ForFork() => IndependentApply is null ? this : this with { Apply = IndependentApply, OwnedResource = null, IndependentApply = null };
    }

    /// <summary>How to build a sibling of a machine for <see cref="Machine.Fork"/>: its configuration and checked boot source.</summary>
    internal sealed class ForkTemplate
    {
        private readonly MachineBuilder _configuration;
        private readonly PreparedBoot _boot;
        private readonly FwCfgContent? _firmwareConfig;
        private readonly bool _acpiBiosArea;

        internal ForkTemplate(MachineBuilder configuration, PreparedBoot boot, FwCfgContent? firmwareConfig, bool acpiBiosArea)
        {
            _configuration = configuration;
            _boot = boot;
            _firmwareConfig = firmwareConfig;
            _acpiBiosArea = acpiBiosArea;
        }

        /// <summary>Builds the sibling at power-on, without booting (the caller restores the parent's state into it).</summary>
        /// <exception cref="MachineConfigurationException">When a host device factory fails; what was created is disposed.</exception>
        public Machine Build(ForkOptions options, DriveMedia media)
        {
            foreach (int port in options.SerialBackends.Keys)
            {
                if (port is < 0 or > 3 || _configuration._serialBackends[port] is null)
                {
                    throw new ArgumentException(
                        $"ForkOptions.SerialBackends[{port}]: the machine has no serial port {port} connected to a host backend (WithSerialPort); ports with a capture get a new capture.",
                        nameof(options));
                }
            }

            // The fork's drives hold what the parent's hold now (forks of its overlays), not the configured devices.
            var created = new List<object>(media.Owned);
            try
            {
                Machine machine = _configuration.WithDriveMedia(media).BuildCore(_boot, created, _firmwareConfig, _acpiBiosArea, options);
                machine.ForkTemplate = this;
                return machine;
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                DisposeCreated(created, e);
                throw e is MachineConfigurationException configuration ? configuration : new MachineConfigurationException($"Fork: {e.GetType().Name}: {e.Message}", e);
            }
        }
    }

    private sealed class ForwardingPlatformControl : IPlatformControl
    {
        public IPlatformControl? Target { get; set; }

        public bool A20Enabled => Target?.A20Enabled ?? true;

        public void SetA20(bool enabled) => Target?.SetA20(enabled);

        public void RequestReset(string source) => Target?.RequestReset(source);

        public void RequestExit(int exitCode, string source) => Target?.RequestExit(exitCode, source);

        public void RequestPowerOff(string source) => Target?.RequestPowerOff(source);
    }
}
