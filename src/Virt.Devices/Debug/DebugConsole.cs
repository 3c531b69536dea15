using Virt.Memory;

namespace Virt.Devices;

/// <summary>
/// The Bochs/QEMU debug console at port E9h: every byte the guest writes goes to a host sink, and a
/// read returns E9h so a guest can detect the port ("port E9 hack").
/// </summary>
public sealed class DebugConsole : IPortMappedDevice, IPortDevice, IStatefulDevice<DebugConsoleState>
{
    /// <summary>The value a read returns (Bochs' detection signature).</summary>
    public const byte DetectionValue = 0xE9;

    private readonly ICharacterSink _sink;
    private readonly PortBinding[] _bindings;

    /// <summary>Creates the console.</summary>
    /// <param name="sink">Where written bytes go.</param>
    /// <param name="options">The port and name; defaults when null.</param>
    public DebugConsole(ICharacterSink sink, DebugConsoleOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(sink);
        options ??= new DebugConsoleOptions();
        ArgumentException.ThrowIfNullOrEmpty(options.Name);
        _sink = sink;
        Name = options.Name;
        _bindings = [new PortBinding(options.Name, options.Port, 1, this)];
    }

    /// <inheritdoc/>
    public string Name { get; }

    /// <inheritdoc/>
    public IReadOnlyList<PortBinding> PortBindings => _bindings;

    /// <inheritdoc/>
    public AccessWidths SupportedWidths => AccessWidths.Byte;

    /// <summary>The number of bytes the guest wrote since the device was created.</summary>
    public long BytesWritten { get; private set; }

    /// <inheritdoc/>
    public uint Read(ushort offset, int sizeInBytes) => DetectionValue;

    /// <inheritdoc/>
    public void Write(ushort offset, int sizeInBytes, uint value)
    {
        ReadOnlySpan<byte> one = [(byte)value];
        _sink.Write(one);
        BytesWritten++;
    }

    /// <inheritdoc/>
    public void Reset()
    {
    }

    /// <inheritdoc/>
    public DebugConsoleState SaveState() => new(DebugConsoleState.CurrentVersion);

    /// <inheritdoc/>
    public void RestoreState(DebugConsoleState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (state.Version != DebugConsoleState.CurrentVersion)
        {
            throw new ArgumentException($"{Name}: unsupported DebugConsoleState version {state.Version} (expected {DebugConsoleState.CurrentVersion}).", nameof(state));
        }
    }
}
