using Virt.Memory;

namespace Virt.Devices;

/// <summary>
/// System control port A at 92h (IBM PS/2 "System Control Port A"; Intel PIIX/ICH datasheets, port 92h):
/// bit 1 gates A20 ("fast A20"), a 0-to-1 transition of bit 0 resets the CPU ("alternate hot reset").
/// The other bits are stored. A20 is shared with the 8042's output port: the last one written wins,
/// and bit 1 reads back the platform's current A20 state.
/// </summary>
public sealed class SystemControlPortA : IPortMappedDevice, IPortDevice, IStatefulDevice<SystemControlPortAState>
{
    private const byte FastReset = 0x01;
    private const byte FastA20 = 0x02;

    private readonly IPlatformControl _platform;
    private readonly PortBinding[] _bindings;
    private byte _value;

    /// <summary>Creates the port.</summary>
    /// <param name="platform">Receives A20 changes and reset requests.</param>
    /// <param name="port">The port (92h).</param>
    /// <param name="name">The device name for messages.</param>
    public SystemControlPortA(IPlatformControl platform, ushort port = 0x92, string name = "port 92h")
    {
        ArgumentNullException.ThrowIfNull(platform);
        ArgumentException.ThrowIfNullOrEmpty(name);
        _platform = platform;
        Name = name;
        _bindings = [new PortBinding(name, port, 1, this)];
    }

    /// <inheritdoc/>
    public string Name { get; }

    /// <inheritdoc/>
    public IReadOnlyList<PortBinding> PortBindings => _bindings;

    /// <inheritdoc/>
    public AccessWidths SupportedWidths => AccessWidths.Byte;

    /// <inheritdoc/>
    public uint Read(ushort offset, int sizeInBytes) =>
        (uint)((_value & ~FastA20) | (_platform.A20Enabled ? FastA20 : 0));

    /// <inheritdoc/>
    public void Write(ushort offset, int sizeInBytes, uint value)
    {
        byte old = _value;
        _value = (byte)value;
        bool a20 = (_value & FastA20) != 0;
        if (a20 != _platform.A20Enabled)
        {
            _platform.SetA20(a20);
        }

        if ((_value & FastReset) != 0 && (old & FastReset) == 0)
        {
            _platform.RequestReset(Name + " bit 0");
        }
    }

    /// <summary>Clears the stored bits (the A20 state belongs to the platform).</summary>
    public void Reset() => _value = 0;

    /// <inheritdoc/>
    public SystemControlPortAState SaveState() => new(SystemControlPortAState.CurrentVersion, _value);

    /// <inheritdoc/>
    public void RestoreState(SystemControlPortAState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (state.Version != SystemControlPortAState.CurrentVersion)
        {
            throw new ArgumentException($"{Name}: unsupported SystemControlPortAState version {state.Version} (expected {SystemControlPortAState.CurrentVersion}).", nameof(state));
        }

        _value = state.Value;
    }
}
