using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Virt.Memory;

namespace Virt.Devices;

/// <summary>
/// The 8042 keyboard controller of PC/AT and PS/2 machines (IBM "Keyboard/Auxiliary Device Controller",
/// PS/2 Hardware Interface Technical Reference; OSDev wiki "8042 PS/2 Controller"), with a
/// <see cref="Ps2Keyboard"/> on its first port and a <see cref="Ps2Mouse"/> on its auxiliary port.
/// Port 60h reads the output buffer and writes data; port 64h reads the status and writes commands.
/// The output port drives the A20 gate (bit 1) and the CPU reset line (bit 0, active low).
/// </summary>
public sealed class KeyboardController8042 : IPortMappedDevice, IStatefulDevice<KeyboardController8042State>
{
    // Status register bits.
    private const byte StatusOutputBufferFull = 0x01;
    private const byte StatusSystemFlag = 0x04;
    private const byte StatusCommandData = 0x08;
    private const byte StatusNotInhibited = 0x10;
    private const byte StatusAuxOutputBufferFull = 0x20;

    // Command byte bits.
    private const byte CommandKeyboardInterrupt = 0x01;
    private const byte CommandAuxInterrupt = 0x02;
    private const byte CommandSystemFlag = 0x04;
    private const byte CommandKeyboardDisabled = 0x10;
    private const byte CommandAuxDisabled = 0x20;
    private const byte CommandTranslate = 0x40;

    // Output port bits.
    private const byte OutputPortReset = 0x01; // active low: 0 holds the CPU in reset
    private const byte OutputPortA20 = 0x02;
    private const byte OutputPortKeyboardFull = 0x10;
    private const byte OutputPortAuxFull = 0x20;
    private const byte OutputPortPowerOn = 0xCF; // reset high, A20 on, clock and data lines high

    private const ushort AuxMarker = 0x100;

    private readonly KeyboardController8042Options _options;
    private readonly IInterruptLine _keyboardIrq;
    private readonly IInterruptLine _auxIrq;
    private readonly IVirtualClock _clock;
    private readonly IPlatformControl _platform;
    private readonly ILogger _logger;
    private readonly IDeviceTimer _deliveryTimer;
    private readonly IDeviceTimer? _hostInputTimer;
    private readonly InputEventQueue? _hostInput;
    private readonly PortBinding[] _bindings;
    private readonly byte[] _ram = new byte[32];
    private readonly Queue<ushort> _controllerQueue = new();
    private byte _outputPort;
    private byte _outputBuffer;
    private bool _outputBufferFull;
    private bool _outputBufferFromAux;
    private byte _pendingCommand;
    private bool _lastWriteWasCommand;
    private bool _translateBreakPending;

    /// <summary>Creates the controller, its keyboard and mouse, in the reset state.</summary>
    /// <param name="keyboardIrq">IRQ1.</param>
    /// <param name="auxIrq">IRQ12.</param>
    /// <param name="clock">The virtual clock (device byte pacing, typematic repeat).</param>
    /// <param name="platform">Receives A20 changes and reset requests.</param>
    /// <param name="options">Ports, initial command byte and pacing; defaults when null.</param>
    /// <param name="logger">Logs counted guest misuse at debug level; none when null.</param>
    /// <param name="hostInput">
    /// A queue host threads fill with key and mouse events; the controller drains it on the machine thread
    /// every <see cref="KeyboardController8042Options.HostInputPollIntervalNanoseconds"/>. Without one, the
    /// host calls <see cref="Keyboard"/> and <see cref="Mouse"/> directly on the machine thread.
    /// </param>
    public KeyboardController8042(
        IInterruptLine keyboardIrq,
        IInterruptLine auxIrq,
        IVirtualClock clock,
        IPlatformControl platform,
        KeyboardController8042Options? options = null,
        ILogger<KeyboardController8042>? logger = null,
        InputEventQueue? hostInput = null)
    {
        ArgumentNullException.ThrowIfNull(keyboardIrq);
        ArgumentNullException.ThrowIfNull(auxIrq);
        ArgumentNullException.ThrowIfNull(clock);
        ArgumentNullException.ThrowIfNull(platform);
        options ??= new KeyboardController8042Options();
        ArgumentException.ThrowIfNullOrEmpty(options.Name);
        ArgumentOutOfRangeException.ThrowIfNegative(options.DeviceByteIntervalNanoseconds);
        if (hostInput is not null && options.HostInputPollIntervalNanoseconds <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(options), $"{options.Name}: host input poll interval {options.HostInputPollIntervalNanoseconds} ns must be positive.");
        }

        _options = options;
        _keyboardIrq = keyboardIrq;
        _auxIrq = auxIrq;
        _clock = clock;
        _platform = platform;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        _deliveryTimer = clock.CreateTimer(options.Name + " delivery", OnDeliveryTimer);
        Keyboard = new Ps2Keyboard(options.Name + " keyboard", clock, FillOutputBuffer, CountMisuse);
        Mouse = new Ps2Mouse(FillOutputBuffer, CountMisuse);
        _hostInput = hostInput;
        if (hostInput is not null)
        {
            _hostInputTimer = clock.CreateTimer(options.Name + " host input", OnHostInputTimer);
        }
        _bindings =
        [
            new PortBinding(options.Name + " data", options.DataPort, 1, new PortHandler(this, isCommandPort: false)),
            new PortBinding(options.Name + " status/command", options.CommandPort, 1, new PortHandler(this, isCommandPort: true)),
        ];
        Reset();
    }

    /// <inheritdoc/>
    public string Name => _options.Name;

    /// <inheritdoc/>
    public IReadOnlyList<PortBinding> PortBindings => _bindings;

    /// <summary>The keyboard on the first port: the host types here.</summary>
    public Ps2Keyboard Keyboard { get; }

    /// <summary>The mouse on the auxiliary port: the host moves it here.</summary>
    public Ps2Mouse Mouse { get; }

    /// <summary>The command byte (controller RAM byte 0).</summary>
    public byte CommandByte => _ram[0];

    /// <summary>The output port (bit 0 reset line, bit 1 A20 gate).</summary>
    public byte OutputPort => _outputPort;

    /// <summary>The number of guest accesses that made no sense (unknown commands), counted, never thrown.</summary>
    public long GuestMisuseCount { get; private set; }

    /// <summary>Reads the data port (offset 0 of the first binding) or the status port.</summary>
    /// <param name="commandPort">True for port 64h.</param>
    /// <returns>The byte.</returns>
    internal byte ReadPort(bool commandPort)
    {
        if (commandPort)
        {
            byte status = StatusNotInhibited;
            if (_outputBufferFull)
            {
                status |= StatusOutputBufferFull;
                if (_outputBufferFromAux)
                {
                    status |= StatusAuxOutputBufferFull;
                }
            }

            if ((_ram[0] & CommandSystemFlag) != 0)
            {
                status |= StatusSystemFlag;
            }

            if (_lastWriteWasCommand)
            {
                status |= StatusCommandData;
            }

            return status;
        }

        byte value = _outputBuffer;
        if (_outputBufferFull)
        {
            _outputBufferFull = false;
            UpdateInterrupts();
            if (_options.DeviceByteIntervalNanoseconds > 0)
            {
                _deliveryTimer.ScheduleAt(_clock.NowNanoseconds + _options.DeviceByteIntervalNanoseconds);
            }

            FillOutputBuffer();
        }

        return value;
    }

    internal void WritePort(bool commandPort, byte value)
    {
        if (commandPort)
        {
            _lastWriteWasCommand = true;
            _pendingCommand = 0;
            ExecuteCommand(value);
        }
        else
        {
            _lastWriteWasCommand = false;
            byte pending = _pendingCommand;
            _pendingCommand = 0;
            WriteData(pending, value);
        }

        FillOutputBuffer();
        UpdateInterrupts();
    }

    /// <summary>Controller reset: RAM cleared, command byte from the options, output port A20 on and reset high, buffers empty; the keyboard and mouse power on.</summary>
    public void Reset()
    {
        Array.Clear(_ram);
        _ram[0] = _options.InitialCommandByte;
        _outputPort = OutputPortPowerOn;
        _outputBuffer = 0;
        _outputBufferFull = false;
        _outputBufferFromAux = false;
        _pendingCommand = 0;
        _lastWriteWasCommand = false;
        _translateBreakPending = false;
        _controllerQueue.Clear();
        _deliveryTimer.Cancel();
        Keyboard.PowerOn();
        Mouse.PowerOn();
        UpdateInterrupts();
        _hostInputTimer?.ScheduleAt(_clock.NowNanoseconds + _options.HostInputPollIntervalNanoseconds);
    }

    /// <inheritdoc/>
    public KeyboardController8042State SaveState() => new(
        KeyboardController8042State.CurrentVersion, (byte[])_ram.Clone(), _outputPort, _outputBuffer, _outputBufferFull,
        _outputBufferFromAux, _pendingCommand, _lastWriteWasCommand, _translateBreakPending, [.. _controllerQueue],
        _deliveryTimer.DeadlineNanoseconds, Keyboard.SaveState(), Mouse.SaveState());

    /// <inheritdoc/>
    public void RestoreState(KeyboardController8042State state)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (state.Version != KeyboardController8042State.CurrentVersion || state.Ram is null || state.Ram.Length != _ram.Length || state.ControllerQueue is null)
        {
            throw new ArgumentException($"{Name}: invalid KeyboardController8042State (version {state.Version}, expected {KeyboardController8042State.CurrentVersion} with 32 bytes of RAM).", nameof(state));
        }

        Ps2Keyboard.Validate(state.Keyboard, Name);
        Ps2Mouse.Validate(state.Mouse, Name);
        state.Ram.CopyTo(_ram, 0);
        _outputPort = state.OutputPort;
        _outputBuffer = state.OutputBuffer;
        _outputBufferFull = state.OutputBufferFull;
        _outputBufferFromAux = state.OutputBufferFromAux;
        _pendingCommand = state.PendingCommand;
        _lastWriteWasCommand = state.LastWriteWasCommand;
        _translateBreakPending = state.TranslateBreakPending;
        _controllerQueue.Clear();
        foreach (ushort entry in state.ControllerQueue)
        {
            _controllerQueue.Enqueue((ushort)(entry & 0x1FF));
        }

        if (state.DeliveryDeadline == long.MaxValue)
        {
            _deliveryTimer.Cancel();
        }
        else
        {
            _deliveryTimer.ScheduleAt(state.DeliveryDeadline);
        }

        Keyboard.RestoreState(state.Keyboard);
        Mouse.RestoreState(state.Mouse);
        UpdateInterrupts();
    }

    private void ExecuteCommand(byte command)
    {
        switch (command)
        {
            case >= 0x20 and <= 0x3F: // read controller RAM (20h: the command byte)
                Respond(_ram[command & 0x1F]);
                break;
            case >= 0x60 and <= 0x7F: // write controller RAM: the next data byte
            case 0xD1: // write output port
            case 0xD2: // write keyboard output buffer
            case 0xD3: // write auxiliary output buffer
            case 0xD4: // write to auxiliary device
                _pendingCommand = command;
                break;
            case 0xA7: // disable auxiliary interface
                _ram[0] |= CommandAuxDisabled;
                break;
            case 0xA8: // enable auxiliary interface
                _ram[0] = (byte)(_ram[0] & ~CommandAuxDisabled);
                break;
            case 0xA9: // test auxiliary interface: 00h = no error
            case 0xAB: // test keyboard interface: 00h = no error
                Respond(0x00);
                break;
            case 0xAA: // controller self test: 55h = passed
                Respond(0x55);
                break;
            case 0xAD: // disable keyboard interface
                _ram[0] |= CommandKeyboardDisabled;
                break;
            case 0xAE: // enable keyboard interface
                _ram[0] = (byte)(_ram[0] & ~CommandKeyboardDisabled);
                break;
            case 0xC0: // read input port: keyboard not inhibited, colour display
                Respond(0x80);
                break;
            case 0xD0: // read output port; bits 4 and 5 reflect the output buffer
                byte port = (byte)(_outputPort & ~(OutputPortKeyboardFull | OutputPortAuxFull));
                if (_outputBufferFull)
                {
                    port |= _outputBufferFromAux ? OutputPortAuxFull : OutputPortKeyboardFull;
                }

                Respond(port);
                break;
            case 0xDD: // disable A20 (HP Vectra and later compatibles)
                WriteOutputPort((byte)(_outputPort & ~OutputPortA20));
                break;
            case 0xDF: // enable A20
                WriteOutputPort((byte)(_outputPort | OutputPortA20));
                break;
            case 0xE0: // read test inputs
                Respond(0x00);
                break;
            case >= 0xF0: // pulse output port bits 0-3 low where the command's bit is 0 (FEh: reset)
                if ((command & 0x01) == 0)
                {
                    _platform.RequestReset($"{Name} command {command:X2}h");
                }

                break;
            default:
                CountMisuse("unknown controller command", command);
                break;
        }
    }

    private void WriteData(byte pending, byte value)
    {
        switch (pending)
        {
            case 0:
                Keyboard.ReceiveCommand(value);
                break;
            case >= 0x60 and <= 0x7F:
                _ram[pending & 0x1F] = value;
                break;
            case 0xD1:
                WriteOutputPort(value);
                break;
            case 0xD2:
                _controllerQueue.Enqueue(value);
                break;
            case 0xD3:
                _controllerQueue.Enqueue((ushort)(value | AuxMarker));
                break;
            default: // D4h
                Mouse.ReceiveCommand(value);
                break;
        }
    }

    private void WriteOutputPort(byte value)
    {
        _outputPort = value;
        bool a20 = (value & OutputPortA20) != 0;
        if (a20 != _platform.A20Enabled)
        {
            _platform.SetA20(a20);
        }

        if ((value & OutputPortReset) == 0)
        {
            _platform.RequestReset($"{Name} output port bit 0");
        }
    }

    private void Respond(byte value) => _controllerQueue.Enqueue(value);

    /// <summary>Moves the next byte into an empty output buffer: controller responses first, then keyboard, then mouse.</summary>
    private void FillOutputBuffer()
    {
        if (_outputBufferFull)
        {
            return;
        }

        if (_controllerQueue.TryDequeue(out ushort entry))
        {
            Load((byte)entry, (entry & AuxMarker) != 0);
            return;
        }

        if (_deliveryTimer.IsScheduled)
        {
            return; // a device byte follows the previous one only after the pacing gap
        }

        if ((_ram[0] & CommandKeyboardDisabled) == 0)
        {
            while (Keyboard.TryTakeByte(out byte value))
            {
                if ((_ram[0] & CommandTranslate) == 0)
                {
                    Load(value, fromAux: false);
                    return;
                }

                // Translation (IBM PS/2 reference, "Scan Code Translation"): F0h is swallowed and sets bit 7 of the next byte.
                if (value == 0xF0)
                {
                    _translateBreakPending = true;
                    continue;
                }

                byte translated = ScanCodeTables.TranslateToSet1(value);
                if (_translateBreakPending)
                {
                    translated |= 0x80;
                    _translateBreakPending = false;
                }

                Load(translated, fromAux: false);
                return;
            }
        }

        if ((_ram[0] & CommandAuxDisabled) == 0 && Mouse.TryTakeByte(out byte auxValue))
        {
            Load(auxValue, fromAux: true);
        }
    }

    private void Load(byte value, bool fromAux)
    {
        _outputBuffer = value;
        _outputBufferFull = true;
        _outputBufferFromAux = fromAux;
        UpdateInterrupts();
    }

    private void OnHostInputTimer()
    {
        _hostInput!.Drain(Keyboard, Mouse);
        _hostInputTimer!.ScheduleAt(_clock.NowNanoseconds + _options.HostInputPollIntervalNanoseconds);
    }

    private void OnDeliveryTimer()
    {
        FillOutputBuffer();
        UpdateInterrupts();
    }

    private void UpdateInterrupts()
    {
        bool keyboard = _outputBufferFull && !_outputBufferFromAux && (_ram[0] & CommandKeyboardInterrupt) != 0;
        bool aux = _outputBufferFull && _outputBufferFromAux && (_ram[0] & CommandAuxInterrupt) != 0;
        if (keyboard != _keyboardIrq.IsAsserted)
        {
            _keyboardIrq.SetLevel(keyboard);
        }

        if (aux != _auxIrq.IsAsserted)
        {
            _auxIrq.SetLevel(aux);
        }
    }

    private void CountMisuse(string what, byte value)
    {
        long count = ++GuestMisuseCount;
        if ((count <= 16 || (count & (count - 1)) == 0) && _logger.IsEnabled(LogLevel.Debug))
        {
            KeyboardLog.GuestMisuse(_logger, Name, what, value, count);
        }
    }

    /// <summary>One of the two ports, so each binding sees offset 0.</summary>
    private sealed class PortHandler(KeyboardController8042 controller, bool isCommandPort) : IPortDevice
    {
        public AccessWidths SupportedWidths => AccessWidths.Byte;

        public uint Read(ushort offset, int sizeInBytes) => controller.ReadPort(isCommandPort);

        public void Write(ushort offset, int sizeInBytes, uint value) => controller.WritePort(isCommandPort, (byte)value);
    }
}
