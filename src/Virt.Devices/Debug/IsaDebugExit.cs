using Virt.Memory;

namespace Virt.Devices;

/// <summary>
/// QEMU's <c>isa-debug-exit</c>: a write of value v (of the access width, 1, 2 or 4 bytes, at any of
/// its ports) stops the machine with exit code <c>(v &lt;&lt; 1) | 1</c>, so a guest can never exit
/// with 0 and a harness can tell a guest's verdict from a crash. Reads return 0, as in QEMU.
/// </summary>
public sealed class IsaDebugExit : IPortMappedDevice, IPortDevice, IStatefulDevice<IsaDebugExitState>
{
    private readonly IPlatformControl _platform;
    private readonly PortBinding[] _bindings;

    /// <summary>Creates the device.</summary>
    /// <param name="platform">Receives the exit request.</param>
    /// <param name="options">Base port, size and name; QEMU's defaults when null.</param>
    /// <exception cref="ArgumentOutOfRangeException">When the size is not 1 to 65536 - base port.</exception>
    public IsaDebugExit(IPlatformControl platform, IsaDebugExitOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(platform);
        options ??= new IsaDebugExitOptions();
        ArgumentException.ThrowIfNullOrEmpty(options.Name);
        if (options.SizeInPorts < 1 || options.BasePort + options.SizeInPorts > 65536)
        {
            throw new ArgumentOutOfRangeException(nameof(options), $"isa-debug-exit at port {options.BasePort:X4}h: size {options.SizeInPorts} must be 1 to {65536 - options.BasePort} ports.");
        }

        _platform = platform;
        Name = options.Name;
        _bindings = [new PortBinding(options.Name, options.BasePort, options.SizeInPorts, this)];
    }

    /// <inheritdoc/>
    public string Name { get; }

    /// <inheritdoc/>
    public IReadOnlyList<PortBinding> PortBindings => _bindings;

    /// <inheritdoc/>
    // QEMU (hw/misc/debugexit.c) accepts 1- to 4-byte accesses and passes the whole value.
    public AccessWidths SupportedWidths => AccessWidths.UpToDoubleWord;

    /// <inheritdoc/>
    public uint Read(ushort offset, int sizeInBytes) => 0;

    /// <inheritdoc/>
    public void Write(ushort offset, int sizeInBytes, uint value)
    {
        uint masked = sizeInBytes >= 4 ? value : value & ((1u << (sizeInBytes * 8)) - 1);
        int exitCode = unchecked((int)((masked << 1) | 1));
        _platform.RequestExit(exitCode, Name);
    }

    /// <inheritdoc/>
    public void Reset()
    {
    }

    /// <inheritdoc/>
    public IsaDebugExitState SaveState() => new(IsaDebugExitState.CurrentVersion);

    /// <inheritdoc/>
    public void RestoreState(IsaDebugExitState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (state.Version != IsaDebugExitState.CurrentVersion)
        {
            throw new ArgumentException($"{Name}: unsupported IsaDebugExitState version {state.Version} (expected {IsaDebugExitState.CurrentVersion}).", nameof(state));
        }
    }
}
