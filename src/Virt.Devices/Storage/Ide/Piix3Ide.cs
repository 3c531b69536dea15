using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Virt.Memory;

namespace Virt.Devices;

/// <summary>
/// The IDE function of an Intel 82371SB PIIX3 (device 8086:7010, class 01 01 80h, bus 0 device 1 function 1 on QEMU's
/// <c>pc</c> machine): two channels of a master and a slave each, ATA disks and ATAPI CD-ROM drives, PIO and
/// bus-master DMA (Intel 290550, "82371FB (PIIX) and 82371SB (PIIX3) PCI ISA IDE Xcelerator", 2.3 and 2.7).
/// </summary>
/// <remarks>
/// <para>
/// In compatibility mode (the PIIX3's only one) the channels decode the legacy ports 1F0h-1F7h and 3F6h, 170h-177h and
/// 376h and interrupt on ISA IRQ 14 and 15. Decoding needs the command register's I/O space bit and each channel's
/// IDE decode enable bit (IDETIM bit 15 at 40h and 42h), which firmware sets. BAR4 (BMIBA, 20h) holds the 16
/// bus-master IDE ports; DMA needs the bus master bit.
/// </para>
/// <para>
/// With <see cref="Piix3IdeOptions.NativeModeCapable"/> the programming interface reads 8Ah and a channel whose bit
/// (0 primary, 2 secondary) the guest sets decodes BARs 0-1 or 2-3 instead of the legacy ports and interrupts on INTA#.
/// </para>
/// </remarks>
public sealed class Piix3Ide : PciDevice, IStatefulDevice<Piix3IdeState>, IIdeBusMasterMemory
{
    /// <summary>The PIIX3 IDE function's device ID.</summary>
    public const ushort IdeDeviceId = 0x7010;

    /// <summary>The function number on the PIIX3's device.</summary>
    public const int FunctionNumber = 1;

    /// <summary>IDETIM of the primary channel (16 bits); the secondary's follows at 42h.</summary>
    public const int IdeTiming = 0x40;

    /// <summary>SIDETIM, the slave timing register.</summary>
    public const int SlaveIdeTiming = 0x44;

    /// <summary>IDETIM bit 15: the channel's legacy ports are decoded.</summary>
    public const ushort IdeDecodeEnable = 0x8000;

    /// <summary>The primary channel's legacy command block.</summary>
    public const ushort PrimaryCommandPort = 0x1F0;

    /// <summary>The primary channel's legacy device control / alternate status port.</summary>
    public const ushort PrimaryControlPort = 0x3F6;

    /// <summary>The secondary channel's legacy command block.</summary>
    public const ushort SecondaryCommandPort = 0x170;

    /// <summary>The secondary channel's legacy device control / alternate status port.</summary>
    public const ushort SecondaryControlPort = 0x376;

    /// <summary>The ISA IRQ of the primary channel in compatibility mode.</summary>
    public const int PrimaryIrq = 14;

    /// <summary>The ISA IRQ of the secondary channel in compatibility mode.</summary>
    public const int SecondaryIrq = 15;

    /// <summary>The bus-master IDE BAR (BMIBA at 20h).</summary>
    public const int BusMasterBarIndex = 4;

    /// <summary>Programming interface bit 0: the primary channel is in native mode (bit 2: the secondary).</summary>
    public const byte ProgrammingInterfacePrimaryNative = 0x01;

    /// <summary>Programming interface bit 2: the secondary channel is in native mode.</summary>
    public const byte ProgrammingInterfaceSecondaryNative = 0x04;

    private const uint ClassCompatibilityOnly = 0x01_0180;
    private const uint ClassNativeCapable = 0x01_018A;
    private const int BusMasterPortCount = 16;
    private const int CommandBlockBarSize = 8;
    private const int ControlBlockBarSize = 4;
    private const int ControlRegisterInBar = 2;
    private const ushort PowerOnStatus = PciConfigurationRegisters.StatusDevselMedium | 0x0080; // fast back-to-back capable
    private const ushort IdeTimingWritable = 0xF3FF; // bits 11:10 reserved
    private const ushort WritableCommand = PciConfigurationRegisters.CommandIoSpace | PciConfigurationRegisters.CommandBusMaster;

    private static readonly ushort[] s_commandPorts = [PrimaryCommandPort, SecondaryCommandPort];
    private static readonly ushort[] s_controlPorts = [PrimaryControlPort, SecondaryControlPort];
    private static readonly string[] s_channelNames = ["primary", "secondary"];

    private readonly IdeChannel[] _channels = new IdeChannel[2];
    private readonly IInterruptLine[] _isaIrqs;
    private readonly IdeCommandBlockPorts[] _legacyCommand = new IdeCommandBlockPorts[2];
    private readonly IdeControlBlockPorts[] _legacyControl = new IdeControlBlockPorts[2];
    private readonly bool[] _legacyMapped = new bool[2];
    private readonly bool _nativeCapable;

    /// <summary>Creates the function with its drives; nothing is decoded until the firmware enables it.</summary>
    /// <param name="options">The drives and the variant.</param>
    /// <param name="primaryIrq">ISA IRQ 14.</param>
    /// <param name="secondaryIrq">ISA IRQ 15.</param>
    /// <param name="logger">Logs guest commands (trace) and host backend failures.</param>
    public Piix3Ide(Piix3IdeOptions options, IInterruptLine primaryIrq, IInterruptLine secondaryIrq, ILogger<Piix3Ide>? logger = null)
        : base("PIIX3 IDE", CreateIdentity(options))
    {
        options.Validate(nameof(Piix3IdeOptions));
        ArgumentNullException.ThrowIfNull(primaryIrq);
        ArgumentNullException.ThrowIfNull(secondaryIrq);
        _isaIrqs = [primaryIrq, secondaryIrq];
        _nativeCapable = options.NativeModeCapable;
        ILogger log = (ILogger?)logger ?? NullLogger.Instance;
        for (int i = 0; i < 2; i++)
        {
            _channels[i] = new IdeChannel($"IDE {s_channelNames[i]}", options.DriveAt(2 * i), options.DriveAt((2 * i) + 1), 2 * i, _ => UpdateInterrupts(), this, log);
            int channel = i;
            _legacyCommand[i] = new IdeCommandBlockPorts(_channels[i], () => true);
            _legacyControl[i] = new IdeControlBlockPorts(_channels[i], 0, () => true);
            if (_nativeCapable)
            {
                DefineIoBar(2 * i, CommandBlockBarSize, new IdeCommandBlockPorts(_channels[i], () => IsNative(channel)));
                DefineIoBar((2 * i) + 1, ControlBlockBarSize, new IdeControlBlockPorts(_channels[i], ControlRegisterInBar, () => IsNative(channel)));
            }
        }

        DefineIoBar(BusMasterBarIndex, BusMasterPortCount, new IdeBusMasterPorts(_channels[0], _channels[1]));
        SetWritableMask(PciConfigurationRegisters.Command, 2, WritableCommand);
        SetWritableMask(IdeTiming, 2, IdeTimingWritable);
        SetWritableMask(IdeTiming + 2, 2, IdeTimingWritable);
        SetWritableMask(SlaveIdeTiming, 1, 0xFF);
        if (_nativeCapable)
        {
            SetWritableMask(PciConfigurationRegisters.ProgrammingInterface, 1, ProgrammingInterfacePrimaryNative | ProgrammingInterfaceSecondaryNative);
        }
    }

    /// <summary>Guest accesses the ATA protocol does not allow (counted, ignored).</summary>
    public long GuestErrorCount => _channels[0].GuestErrorCount + _channels[1].GuestErrorCount;

    /// <summary>Host backend failures the guest saw as device errors.</summary>
    public long HostErrorCount => _channels[0].HostErrorCount + _channels[1].HostErrorCount;

    /// <summary>Whether the channel's legacy ports are decoded now (compatibility mode, I/O space and IDETIM decode enabled).</summary>
    /// <param name="channel">0 (primary) or 1 (secondary).</param>
    /// <returns>True when mapped.</returns>
    public bool IsLegacyDecoded(int channel) => _legacyMapped[channel];

    /// <summary>Whether the channel is in PCI native mode.</summary>
    /// <param name="channel">0 (primary) or 1 (secondary).</param>
    /// <returns>True in native mode.</returns>
    public bool IsNative(int channel) =>
        (Configuration[PciConfigurationRegisters.ProgrammingInterface] & (channel == 0 ? ProgrammingInterfacePrimaryNative : ProgrammingInterfaceSecondaryNative)) != 0;

    /// <summary>The medium in the drive at <paramref name="position"/> (0-3), or null (no drive, or an empty CD-ROM drive).</summary>
    /// <param name="position">The drive position.</param>
    /// <returns>The host backend.</returns>
    public IBlockDevice? GetMedium(int position) => Channel(position).GetDrive(position & 1)?.Medium;

    /// <summary>The kind of drive at a position, or null when there is none.</summary>
    /// <param name="position">0 primary master, 1 primary slave, 2 secondary master, 3 secondary slave.</param>
    /// <returns>The media kind.</returns>
    public IdeMediaKind? GetMediaKind(int position) => Channel(position).GetDrive(position & 1)?.Media;

    /// <summary>Whether the guest opened the tray of the CD-ROM drive at <paramref name="position"/> (START STOP UNIT with LoEj).</summary>
    /// <param name="position">The drive position.</param>
    /// <returns>True when ejected by the guest.</returns>
    public bool IsTrayOpen(int position) => Channel(position).GetDrive(position & 1)?.TrayOpen ?? false;

    /// <summary>
    /// Puts <paramref name="medium"/> in the CD-ROM drive at <paramref name="position"/> (null takes the disc out): the
    /// guest's next command fails once with UNIT ATTENTION (medium may have changed) and GET EVENT STATUS NOTIFICATION
    /// reports the new medium (or its removal). The host wins over PREVENT MEDIUM REMOVAL. Call on the machine thread.
    /// </summary>
    /// <param name="position">0-3.</param>
    /// <param name="medium">The new disc, or null.</param>
    /// <exception cref="InvalidOperationException">When no CD-ROM drive is at that position.</exception>
    public void ChangeMedium(int position, IBlockDevice? medium)
    {
        if (medium is not null)
        {
            new IdeDriveConfiguration(IdeMediaKind.Cdrom, medium).Validate($"{Name} ChangeMedium({position})");
        }

        Channel(position).ChangeMedium(position & 1, medium);
    }

    /// <inheritdoc/>
    public Piix3IdeState SaveState() => new(Piix3IdeState.CurrentVersion, SaveConfiguration(), [_channels[0].SaveState(), _channels[1].SaveState()]);

    /// <inheritdoc/>
    public void RestoreState(Piix3IdeState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (state.Version != Piix3IdeState.CurrentVersion)
        {
            throw new ArgumentException($"Piix3IdeState.Version {state.Version} is not supported (expected {Piix3IdeState.CurrentVersion}).", nameof(state));
        }

        ValidateConfiguration(state.Configuration, Name);
        if (state.Channels is null || state.Channels.Length != 2)
        {
            throw new ArgumentException("Piix3IdeState.Channels must hold two channels.", nameof(state));
        }

        for (int i = 0; i < 2; i++)
        {
            _channels[i].Validate(state.Channels[i], $"Piix3IdeState.Channels[{i}]");
        }

        RestoreConfiguration(state.Configuration);
        for (int i = 0; i < 2; i++)
        {
            _channels[i].Restore(state.Channels[i]);
        }

        UpdateDecoding();
        UpdateInterrupts();
    }

    bool IIdeBusMasterMemory.Read(ulong address, Span<byte> destination) => DmaRead(new PhysicalAddress(address), destination);

    bool IIdeBusMasterMemory.Write(ulong address, ReadOnlySpan<byte> source) => DmaWrite(new PhysicalAddress(address), source);

    /// <inheritdoc/>
    protected override void OnConfigurationWritten(int register, int sizeInBytes)
    {
        UpdateDecoding();
        UpdateInterrupts();
    }

    /// <inheritdoc/>
    protected override void OnReset()
    {
        foreach (IdeChannel channel in _channels)
        {
            channel.Reset();
        }

        UpdateDecoding();
        UpdateInterrupts();
    }

    private static PciDeviceIdentity CreateIdentity(Piix3IdeOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return new PciDeviceIdentity(I440fxHostBridge.IntelVendorId, IdeDeviceId, options.NativeModeCapable ? ClassNativeCapable : ClassCompatibilityOnly)
        {
            Status = PowerOnStatus,
            SubsystemVendorId = I440fxHostBridge.QemuSubsystemVendorId,
            SubsystemId = I440fxHostBridge.QemuSubsystemId,
            InterruptPin = options.NativeModeCapable ? PciInterruptPin.IntA : PciInterruptPin.None,
        };
    }

    private IdeChannel Channel(int position)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(position);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(position, Piix3IdeOptions.DrivePositions);
        return _channels[position >> 1];
    }

    /// <summary>Maps or unmaps each channel's legacy ports after a change of the command register, IDETIM or the mode.</summary>
    private void UpdateDecoding()
    {
        bool io = (CommandRegister & PciConfigurationRegisters.CommandIoSpace) != 0;
        for (int i = 0; i < 2; i++)
        {
            bool enabled = (ReadWord(IdeTiming + (2 * i)) & IdeDecodeEnable) != 0;
            bool wanted = io && enabled && !IsNative(i);
            if (wanted == _legacyMapped[i])
            {
                continue;
            }

            string name = $"{Name} {s_channelNames[i]}";
            bool mapped = MapPortWindow(name + " command block", wanted ? s_commandPorts[i] : null, AtaRegisters.CommandBlockSize, _legacyCommand[i]);
            mapped &= MapPortWindow(name + " control", wanted ? s_controlPorts[i] : null, 1, _legacyControl[i]);
            _legacyMapped[i] = wanted && mapped;
        }
    }

    /// <summary>Each channel's INTRQ goes to its ISA IRQ in compatibility mode, to INTA# in native mode.</summary>
    private void UpdateInterrupts()
    {
        bool intx = false;
        for (int i = 0; i < 2; i++)
        {
            bool level = _channels[i].InterruptLevel;
            bool native = IsNative(i);
            _isaIrqs[i].SetLevel(level && !native);
            intx |= level && native;
        }

        SetInterruptLevel(intx);
    }
}
