using Virt.Memory;

namespace Virt.Devices;

/// <summary>
/// The POST code port 80h: firmware writes progress codes there (and Linux writes it as an I/O delay).
/// The last byte is latched (a read returns it, as on boards with a POST display latch) and given to
/// the host: <see cref="LastCode"/>, a bounded history and the <see cref="CodeWritten"/> event.
/// </summary>
public sealed class PostCodePort : IPortMappedDevice, IPortDevice, IStatefulDevice<PostCodePortState>
{
    private readonly PortBinding[] _bindings;
    private readonly IVirtualClock? _clock;
    private readonly byte[] _history;
    private int _historyStart;
    private int _historyCount;
    private byte _lastCode;

    /// <summary>Creates the port.</summary>
    /// <param name="options">Port, history size and name; defaults when null.</param>
    /// <param name="clock">When given, events carry the guest time of the write.</param>
    /// <exception cref="ArgumentOutOfRangeException">When the history capacity is negative.</exception>
    public PostCodePort(PostCodePortOptions? options = null, IVirtualClock? clock = null)
    {
        options ??= new PostCodePortOptions();
        ArgumentException.ThrowIfNullOrEmpty(options.Name);
        ArgumentOutOfRangeException.ThrowIfNegative(options.HistoryCapacity);
        Name = options.Name;
        _clock = clock;
        _history = new byte[options.HistoryCapacity];
        _bindings = [new PortBinding(options.Name, options.Port, 1, this)];
        Reset();
    }

    /// <summary>Raised on the machine thread for every byte written.</summary>
    public event EventHandler<PostCodeEventArgs>? CodeWritten;

    /// <inheritdoc/>
    public string Name { get; }

    /// <inheritdoc/>
    public IReadOnlyList<PortBinding> PortBindings => _bindings;

    /// <inheritdoc/>
    public AccessWidths SupportedWidths => AccessWidths.Byte;

    /// <summary>The last byte written, or null when none since the device was created or reset.</summary>
    public byte? LastCode { get; private set; }

    /// <summary>The number of codes written since the device was created.</summary>
    public long CodesWritten { get; private set; }

    /// <summary>The most recent codes, oldest first (at most the configured capacity).</summary>
    /// <returns>A new array.</returns>
    public byte[] GetHistory()
    {
        byte[] result = new byte[_historyCount];
        for (int i = 0; i < _historyCount; i++)
        {
            result[i] = _history[(_historyStart + i) % _history.Length];
        }

        return result;
    }

    /// <inheritdoc/>
    public uint Read(ushort offset, int sizeInBytes) => _lastCode;

    /// <inheritdoc/>
    public void Write(ushort offset, int sizeInBytes, uint value)
    {
        byte code = (byte)value;
        _lastCode = code;
        LastCode = code;
        CodesWritten++;
        if (_history.Length > 0)
        {
            if (_historyCount < _history.Length)
            {
                _history[(_historyStart + _historyCount) % _history.Length] = code;
                _historyCount++;
            }
            else
            {
                _history[_historyStart] = code;
                _historyStart = (_historyStart + 1) % _history.Length;
            }
        }

        CodeWritten?.Invoke(this, new PostCodeEventArgs(code, _clock?.NowNanoseconds ?? -1));
    }

    /// <summary>Forgets the latched code; the host's history is kept.</summary>
    public void Reset()
    {
        _lastCode = 0xFF;
        LastCode = null;
    }

    /// <inheritdoc/>
    public PostCodePortState SaveState() => new(PostCodePortState.CurrentVersion, _lastCode);

    /// <inheritdoc/>
    public void RestoreState(PostCodePortState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (state.Version != PostCodePortState.CurrentVersion)
        {
            throw new ArgumentException($"{Name}: unsupported PostCodePortState version {state.Version} (expected {PostCodePortState.CurrentVersion}).", nameof(state));
        }

        _lastCode = state.LastCode;
    }
}
