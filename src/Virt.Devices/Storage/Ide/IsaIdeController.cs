using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Virt.Devices;

/// <summary>
/// A plain ISA IDE controller, as on a PC/AT without PCI (QEMU's <c>isapc</c>): the same two channels, drives and
/// commands as <see cref="Piix3Ide"/>, on the legacy ports 1F0h-1F7h and 3F6h, 170h-177h and 376h with IRQ 14 and 15,
/// always decoded, and PIO only (no bus master: DMA commands wait for ever, as on a board without one).
/// </summary>
public sealed class IsaIdeController : IPortMappedDevice, IStatefulDevice<IsaIdeControllerState>
{
    private readonly IdeChannel[] _channels = new IdeChannel[2];
    private readonly IInterruptLine[] _irqs;

    /// <summary>Creates the controller with its drives.</summary>
    /// <param name="drives">The drives by position (0-3); null or missing entries are empty. Only <see cref="Piix3IdeOptions.Drives"/> is used.</param>
    /// <param name="primaryIrq">ISA IRQ 14.</param>
    /// <param name="secondaryIrq">ISA IRQ 15.</param>
    /// <param name="logger">Logs guest commands (trace) and host backend failures.</param>
    public IsaIdeController(Piix3IdeOptions drives, IInterruptLine primaryIrq, IInterruptLine secondaryIrq, ILogger<IsaIdeController>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(drives);
        drives.Validate(nameof(IsaIdeController));
        ArgumentNullException.ThrowIfNull(primaryIrq);
        ArgumentNullException.ThrowIfNull(secondaryIrq);
        _irqs = [primaryIrq, secondaryIrq];
        ILogger log = (ILogger?)logger ?? NullLogger.Instance;
        string[] names = ["primary", "secondary"];
        ushort[] commandPorts = [Piix3Ide.PrimaryCommandPort, Piix3Ide.SecondaryCommandPort];
        ushort[] controlPorts = [Piix3Ide.PrimaryControlPort, Piix3Ide.SecondaryControlPort];
        var bindings = new List<PortBinding>();
        for (int i = 0; i < 2; i++)
        {
            int channel = i;
            _channels[i] = new IdeChannel($"IDE {names[i]}", drives.DriveAt(2 * i), drives.DriveAt((2 * i) + 1), 2 * i, level => _irqs[channel].SetLevel(level), null, log);
            bindings.Add(new PortBinding($"IDE {names[i]} command block", commandPorts[i], AtaRegisters.CommandBlockSize, new IdeCommandBlockPorts(_channels[i], () => true)));
            bindings.Add(new PortBinding($"IDE {names[i]} control", controlPorts[i], 1, new IdeControlBlockPorts(_channels[i], 0, () => true)));
        }

        PortBindings = bindings;
    }

    /// <inheritdoc/>
    public string Name => "ISA IDE";

    /// <inheritdoc/>
    public IReadOnlyList<PortBinding> PortBindings { get; }

    /// <summary>Guest accesses the ATA protocol does not allow (counted, ignored).</summary>
    public long GuestErrorCount => _channels[0].GuestErrorCount + _channels[1].GuestErrorCount;

    /// <summary>Host backend failures the guest saw as device errors.</summary>
    public long HostErrorCount => _channels[0].HostErrorCount + _channels[1].HostErrorCount;

    /// <summary>The medium in the drive at <paramref name="position"/> (0-3), or null.</summary>
    /// <param name="position">The drive position.</param>
    /// <returns>The host backend.</returns>
    public IBlockDevice? GetMedium(int position) => Channel(position).GetDrive(position & 1)?.Medium;

    /// <summary>The kind of drive at a position, or null when there is none.</summary>
    /// <param name="position">0 primary master, 1 primary slave, 2 secondary master, 3 secondary slave.</param>
    /// <returns>The media kind.</returns>
    public IdeMediaKind? GetMediaKind(int position) => Channel(position).GetDrive(position & 1)?.Media;

    /// <summary>Puts another disc in the CD-ROM drive at <paramref name="position"/> (see <see cref="Piix3Ide.ChangeMedium"/>).</summary>
    /// <param name="position">0-3.</param>
    /// <param name="medium">The new disc, or null.</param>
    public void ChangeMedium(int position, IBlockDevice? medium)
    {
        if (medium is not null)
        {
            new IdeDriveConfiguration(IdeMediaKind.Cdrom, medium).Validate($"{Name} ChangeMedium({position})");
        }

        Channel(position).ChangeMedium(position & 1, medium);
    }

    /// <inheritdoc/>
    public void Reset()
    {
        foreach (IdeChannel channel in _channels)
        {
            channel.Reset();
        }
    }

    /// <inheritdoc/>
    public IsaIdeControllerState SaveState() => new(IsaIdeControllerState.CurrentVersion, [_channels[0].SaveState(), _channels[1].SaveState()]);

    /// <inheritdoc/>
    public void RestoreState(IsaIdeControllerState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (state.Version != IsaIdeControllerState.CurrentVersion)
        {
            throw new ArgumentException($"IsaIdeControllerState.Version {state.Version} is not supported (expected {IsaIdeControllerState.CurrentVersion}).", nameof(state));
        }

        if (state.Channels is null || state.Channels.Length != 2)
        {
            throw new ArgumentException("IsaIdeControllerState.Channels must hold two channels.", nameof(state));
        }

        for (int i = 0; i < 2; i++)
        {
            _channels[i].Validate(state.Channels[i], $"IsaIdeControllerState.Channels[{i}]");
        }

        for (int i = 0; i < 2; i++)
        {
            _channels[i].Restore(state.Channels[i]);
        }
    }

    private IdeChannel Channel(int position)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(position);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(position, Piix3IdeOptions.DrivePositions);
        return _channels[position >> 1];
    }
}
