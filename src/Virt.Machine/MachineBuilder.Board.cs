using Virt.Devices;
using Virt.Machine.Boot;

namespace Virt.Machine;

/// <summary>The board preset of the builder: the defaults of the PCI, APIC, HPET, fw_cfg, ACPI and VGA options.</summary>
public sealed partial class MachineBuilder
{
    private MachineBoard _board = MachineBoard.Pc;
    private BoardSettings _explicitSettings;

    /// <summary>The options a host set itself, which the board's defaults leave alone.</summary>
    [Flags]
    private enum BoardSettings
    {
        None = 0,
        PciBus = 1 << 0,
        Apic = 1 << 1,
        Hpet = 1 << 2,
        FirmwareConfig = 1 << 3,
        Acpi = 1 << 4,
        Vga = 1 << 5,
    }

    /// <summary>
    /// Chooses the board (default <see cref="MachineBoard.Pc"/>, the PC that QEMU's <c>-M pc</c> presents). The board
    /// gives the defaults of the options that make it: on <see cref="MachineBoard.Pc"/>, <see cref="WithPciBus"/>,
    /// <see cref="WithApic"/>, <see cref="WithHpet"/> and <see cref="WithFirmwareConfig"/> are on, the display adapter is
    /// <see cref="VgaKind.Standard"/> (without an option ROM unless <see cref="WithVga"/> gives one) and
    /// <see cref="WithAcpi"/> is on (with firmware only when fw_cfg can carry the tables; without firmware only with at
    /// least 2 MiB of RAM, where the machine places them above 1 MiB); on <see cref="MachineBoard.IsaPc"/> they are all
    /// off and the VGA is <see cref="VgaKind.Isa"/>. A call to one of those methods overrides the board's default for that
    /// option, whatever the order of the calls. See docs/machine.md.
    /// </summary>
    /// <param name="board">The board.</param>
    /// <returns>This builder.</returns>
    public MachineBuilder WithBoard(MachineBoard board)
    {
        if (!Enum.IsDefined(board))
        {
            throw new ArgumentOutOfRangeException(nameof(board), board, $"Not a {nameof(MachineBoard)}.");
        }

        _board = board;
        return this;
    }

    /// <summary>The board chosen with <see cref="WithBoard"/>.</summary>
    internal MachineBoard Board => _board;

    private void MarkExplicit(BoardSettings setting) => _explicitSettings |= setting;

    private void CopyBoardConfiguration(MachineBuilder other)
    {
        _board = other._board;
        _explicitSettings = other._explicitSettings;
    }

    /// <summary>Fills in the board's defaults for the options the host left alone (at every <see cref="Build"/>, so a later <see cref="WithBoard"/> counts).</summary>
    private void ApplyBoardDefaults()
    {
        bool pc = _board == MachineBoard.Pc;
        if ((_explicitSettings & BoardSettings.PciBus) == 0)
        {
            _pciBus = pc;
        }

        if ((_explicitSettings & BoardSettings.Apic) == 0)
        {
            _apic = pc;
        }

        if ((_explicitSettings & BoardSettings.Hpet) == 0)
        {
            _hpet = pc;
        }

        if ((_explicitSettings & BoardSettings.FirmwareConfig) == 0)
        {
            _firmwareConfig = pc ? new FirmwareConfigOptions() : null;
        }

        if ((_explicitSettings & BoardSettings.Vga) == 0)
        {
            _vgaKind = pc && _pciBus ? VgaKind.Standard : VgaKind.Isa;
        }

        if ((_explicitSettings & BoardSettings.Acpi) == 0)
        {
            // The tables describe the PCI root and the APICs; firmware gets them through fw_cfg, a direct boot above 1 MiB.
            bool room = _boot?.Kind == BootKind.Firmware ? _firmwareConfig is not null : _memorySize >= 2 * MinimumMemorySizeInBytes;
            _acpi = pc && _pciBus && _apic && room;
            _acpiPlatform = null;
        }
    }
}
