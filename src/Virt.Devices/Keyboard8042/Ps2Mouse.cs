namespace Virt.Devices;

/// <summary>
/// A PS/2 mouse on the 8042's auxiliary port, with the IntelliMouse wheel extension (device ID 3 after
/// the sample-rate sequence 200, 100, 80). Commands follow IBM's PS/2 "Keyboard and Auxiliary Device
/// Controller" reference (pointing device commands) and the OSDev wiki "PS/2 Mouse".
/// </summary>
/// <remarks>
/// The host calls <see cref="Move"/> on the machine thread. Movements are reported only in stream mode
/// with reporting enabled (the guest's F4h); otherwise stream-mode movements are dropped and remote-mode
/// movements accumulate until the guest reads them (EBh). Large movements are split into several packets
/// rather than clamped. 2:1 scaling is stored and reported but not applied.
/// </remarks>
public sealed class Ps2Mouse
{
    /// <summary>The largest movement one <see cref="Move"/> call reports on each axis; larger values are clamped.</summary>
    public const int MaxDeltaPerMove = 65536;

    private readonly Queue<byte> _output = new();
    private readonly Action _dataAvailable;
    private readonly Action<string, byte> _misuse;
    private byte _sampleRate;
    private byte _resolution;
    private bool _scaling2To1;
    private bool _reportingEnabled;
    private bool _remoteMode;
    private bool _wrapMode;
    private byte _deviceId;
    private byte _buttons;
    private byte _pendingCommand;
    private byte _lastSent;
    private int _recentSampleRates;
    private int _remoteDeltaX;
    private int _remoteDeltaY;

    internal Ps2Mouse(Action dataAvailable, Action<string, byte> misuse)
    {
        _dataAvailable = dataAvailable;
        _misuse = misuse;
        PowerOn();
    }

    /// <summary>Whether the guest enabled data reporting.</summary>
    public bool ReportingEnabled => _reportingEnabled;

    /// <summary>The device ID the mouse reports: 0, or 3 with the wheel enabled.</summary>
    public int DeviceId => _deviceId;

    /// <summary>The sample rate the guest set, in samples per second.</summary>
    public int SampleRate => _sampleRate;

    /// <summary>The resolution code the guest set (0-3: 1, 2, 4, 8 counts per millimetre).</summary>
    public int Resolution => _resolution;

    /// <summary>
    /// Moves the mouse and sets the buttons held. <paramref name="deltaY"/> is in screen direction (positive
    /// is down); the packet carries the PS/2 direction (positive is up).
    /// </summary>
    /// <param name="deltaX">Counts to the right (clamped to <see cref="MaxDeltaPerMove"/>).</param>
    /// <param name="deltaY">Counts down (clamped to <see cref="MaxDeltaPerMove"/>).</param>
    /// <param name="buttons">The buttons held after the move.</param>
    /// <param name="deltaWheel">Wheel counts (positive is towards the user); sent only with device ID 3, clamped to -8..7.</param>
    public void Move(int deltaX, int deltaY, MouseButtons buttons = MouseButtons.None, int deltaWheel = 0)
    {
        _buttons = (byte)((int)buttons & 7);

        // Bound one call's packets (a host passing int.MinValue would otherwise queue megabytes).
        deltaX = Math.Clamp(deltaX, -MaxDeltaPerMove, MaxDeltaPerMove);
        int dy = -Math.Clamp(deltaY, -MaxDeltaPerMove, MaxDeltaPerMove);
        if (_remoteMode)
        {
            _remoteDeltaX = Math.Clamp(_remoteDeltaX + deltaX, -4096, 4096);
            _remoteDeltaY = Math.Clamp(_remoteDeltaY + dy, -4096, 4096);
            return;
        }

        if (!_reportingEnabled || _wrapMode)
        {
            return;
        }

        int dx = deltaX;
        do
        {
            int stepX = Math.Clamp(dx, -256, 255);
            int stepY = Math.Clamp(dy, -256, 255);
            SendPacket(stepX, stepY, deltaWheel);
            deltaWheel = 0;
            dx -= stepX;
            dy -= stepY;
        }
        while (dx != 0 || dy != 0);

        _dataAvailable();
    }

    internal bool TryTakeByte(out byte value) => _output.TryDequeue(out value);

    internal void ReceiveCommand(byte command)
    {
        if (_wrapMode && command != 0xEC && command != 0xFF)
        {
            Send(command); // wrap mode echoes every byte except reset and reset-wrap
            _dataAvailable();
            return;
        }

        if (_pendingCommand != 0)
        {
            byte pending = _pendingCommand;
            _pendingCommand = 0;
            if (pending == 0xF3)
            {
                _sampleRate = command;
                _recentSampleRates = ((_recentSampleRates << 8) | command) & 0xFFFFFF;
                if (_recentSampleRates == ((200 << 16) | (100 << 8) | 80))
                {
                    _deviceId = 3; // IntelliMouse: "set sample rate 200, 100, 80" unlocks the wheel
                }
            }
            else
            {
                _resolution = (byte)(command & 3);
            }

            Send(Ps2Keyboard.Ack);
            _dataAvailable();
            return;
        }

        switch (command)
        {
            case 0xFF: // reset: ACK, BAT result, device ID
                _output.Clear();
                PowerOn();
                Send(Ps2Keyboard.Ack);
                Send(Ps2Keyboard.SelfTestPassed);
                Send(0x00);
                break;
            case 0xFE:
                Send(_lastSent);
                break;
            case 0xF6: // set defaults
                SetDefaults();
                Send(Ps2Keyboard.Ack);
                break;
            case 0xF5:
                _reportingEnabled = false;
                Send(Ps2Keyboard.Ack);
                break;
            case 0xF4:
                _reportingEnabled = true;
                Send(Ps2Keyboard.Ack);
                break;
            case 0xF3:
            case 0xE8:
                _pendingCommand = command;
                Send(Ps2Keyboard.Ack);
                break;
            case 0xF2:
                Send(Ps2Keyboard.Ack);
                Send(_deviceId);
                break;
            case 0xF0:
                _remoteMode = true;
                Send(Ps2Keyboard.Ack);
                break;
            case 0xEE:
                _wrapMode = true;
                Send(Ps2Keyboard.Ack);
                break;
            case 0xEC:
                _wrapMode = false;
                Send(Ps2Keyboard.Ack);
                break;
            case 0xEB: // read data: one packet with what accumulated
                Send(Ps2Keyboard.Ack);
                SendPacket(Math.Clamp(_remoteDeltaX, -256, 255), Math.Clamp(_remoteDeltaY, -256, 255), 0);
                _remoteDeltaX = _remoteDeltaY = 0;
                break;
            case 0xEA:
                _remoteMode = false;
                Send(Ps2Keyboard.Ack);
                break;
            case 0xE9: // status request: mode/enable/scaling/buttons, resolution, sample rate
                Send(Ps2Keyboard.Ack);
                Send(StatusByte());
                Send(_resolution);
                Send(_sampleRate);
                break;
            case 0xE7:
                _scaling2To1 = true;
                Send(Ps2Keyboard.Ack);
                break;
            case 0xE6:
                _scaling2To1 = false;
                Send(Ps2Keyboard.Ack);
                break;
            default:
                _misuse("unknown mouse command", command);
                Send(Ps2Keyboard.Resend);
                break;
        }

        _dataAvailable();
    }

    internal Ps2MouseState SaveState() => new(
        Ps2MouseState.CurrentVersion, [.. _output], _sampleRate, _resolution, _scaling2To1, _reportingEnabled,
        _remoteMode, _wrapMode, _deviceId, _buttons, _pendingCommand, _lastSent, _recentSampleRates,
        _remoteDeltaX, _remoteDeltaY);

    internal static void Validate(Ps2MouseState state, string device)
    {
        if (state is null || state.Version != Ps2MouseState.CurrentVersion || state.Output is null || state.DeviceId is not (0 or 3))
        {
            throw new ArgumentException($"{device}: invalid Ps2MouseState (version {state?.Version}, device ID {state?.DeviceId}).", nameof(state));
        }
    }

    internal void RestoreState(Ps2MouseState state)
    {
        _output.Clear();
        foreach (byte b in state.Output)
        {
            _output.Enqueue(b);
        }

        _sampleRate = state.SampleRate;
        _resolution = (byte)(state.Resolution & 3);
        _scaling2To1 = state.Scaling2To1;
        _reportingEnabled = state.ReportingEnabled;
        _remoteMode = state.RemoteMode;
        _wrapMode = state.WrapMode;
        _deviceId = state.DeviceId;
        _buttons = (byte)(state.Buttons & 7);
        _pendingCommand = state.PendingCommand;
        _lastSent = state.LastSent;
        _recentSampleRates = state.RecentSampleRates & 0xFFFFFF;
        _remoteDeltaX = state.RemoteDeltaX;
        _remoteDeltaY = state.RemoteDeltaY;
    }

    internal void PowerOn()
    {
        _output.Clear();
        SetDefaults();
        _wrapMode = false;
        _deviceId = 0;
        _buttons = 0;
        _pendingCommand = 0;
        _lastSent = 0;
        _recentSampleRates = 0;
    }

    private void SetDefaults()
    {
        _sampleRate = 100;
        _resolution = 2;
        _scaling2To1 = false;
        _reportingEnabled = false;
        _remoteMode = false;
        _remoteDeltaX = _remoteDeltaY = 0;
    }

    private byte StatusByte()
    {
        // Bit 6 remote mode, 5 reporting enabled, 4 scaling 2:1, 2 left, 1 middle, 0 right.
        int status = (_remoteMode ? 0x40 : 0) | (_reportingEnabled ? 0x20 : 0) | (_scaling2To1 ? 0x10 : 0);
        status |= (_buttons & 1) << 2; // left
        status |= (_buttons & 4) >> 1; // middle
        status |= (_buttons & 2) >> 1; // right
        return (byte)status;
    }

    private void SendPacket(int dx, int dy, int wheel)
    {
        // Byte 0: Y overflow, X overflow, Y sign, X sign, always 1, middle, right, left.
        int first = 0x08 | _buttons | (dx < 0 ? 0x10 : 0) | (dy < 0 ? 0x20 : 0);
        Send((byte)first);
        Send((byte)dx);
        Send((byte)dy);
        if (_deviceId == 3)
        {
            Send((byte)Math.Clamp(wheel, -8, 7));
        }
    }

    private void Send(byte value)
    {
        _output.Enqueue(value);
        _lastSent = value;
    }
}
