using Microsoft.Extensions.Logging;

namespace Virt.Devices;

/// <summary>
/// A PS/2 (MF2) keyboard on the 8042's first port: the host presses keys, the guest sends commands.
/// It sends scan code set 2 by default (set 1 on request); the controller translates to set 1 when its
/// command byte says so. Commands follow IBM's keyboard technical reference ("Commands from the System").
/// </summary>
/// <remarks>
/// Host methods (<see cref="PressKey"/>, <see cref="ReleaseKey"/>, <see cref="TypeText"/>) must be called on
/// the machine thread (between instructions), like every device access. Key events while the guest has
/// disabled scanning (F5h) are dropped, as on a real keyboard, and counted in <see cref="DroppedKeyEvents"/>.
/// </remarks>
public sealed class Ps2Keyboard
{
    /// <summary>Acknowledge.</summary>
    internal const byte Ack = 0xFA;

    /// <summary>Resend (also the answer to an unknown command).</summary>
    internal const byte Resend = 0xFE;

    /// <summary>Basic assurance test passed.</summary>
    internal const byte SelfTestPassed = 0xAA;

    private const byte DefaultTypematic = 0x2B; // 10.9 characters per second after 500 ms (IBM default)

    private readonly Queue<byte> _output = new();
    private readonly Action _dataAvailable;
    private readonly Action<string, byte> _misuse;
    private readonly IVirtualClock _clock;
    private readonly IDeviceTimer _repeatTimer;
    private byte _scanCodeSet;
    private bool _scanningEnabled;
    private byte _leds;
    private byte _typematic;
    private byte _pendingCommand;
    private byte _lastSent;
    private int _repeatingKey;

    internal Ps2Keyboard(string name, IVirtualClock clock, Action dataAvailable, Action<string, byte> misuse)
    {
        _clock = clock;
        _dataAvailable = dataAvailable;
        _misuse = misuse;
        _repeatTimer = clock.CreateTimer(name + " typematic", OnRepeat);
        PowerOn();
    }

    /// <summary>The scan code set the keyboard sends (1 or 2; the controller may translate set 2 to set 1).</summary>
    public int ScanCodeSet => _scanCodeSet;

    /// <summary>Whether the keyboard reports key events (the guest turns this off with F5h and on with F4h).</summary>
    public bool ScanningEnabled => _scanningEnabled;

    /// <summary>The LEDs as the guest last set them.</summary>
    public KeyboardLeds Leds => (KeyboardLeds)_leds;

    /// <summary>The typematic byte (bits 0-4 rate, 5-6 delay) as the guest last set it.</summary>
    public byte Typematic => _typematic;

    /// <summary>The number of key events dropped because scanning was disabled.</summary>
    public long DroppedKeyEvents { get; private set; }

    /// <summary>The number of bytes waiting for the controller.</summary>
    internal int PendingBytes => _output.Count;

    /// <summary>Presses a key: sends its make code, and starts auto-repeat after the typematic delay.</summary>
    /// <param name="key">The key.</param>
    /// <exception cref="ArgumentOutOfRangeException">When <paramref name="key"/> is not a defined key.</exception>
    public void PressKey(KeyboardKey key)
    {
        CheckKey(key);
        if (!_scanningEnabled)
        {
            DroppedKeyEvents++;
            return;
        }

        SendMake(key);
        if (key != KeyboardKey.Pause)
        {
            _repeatingKey = (int)key;
            _repeatTimer.ScheduleAt(_clock.NowNanoseconds + TypematicDelayNanoseconds);
        }

        _dataAvailable();
    }

    /// <summary>Releases a key: sends its break code (Pause has none) and stops its auto-repeat.</summary>
    /// <param name="key">The key.</param>
    /// <exception cref="ArgumentOutOfRangeException">When <paramref name="key"/> is not a defined key.</exception>
    public void ReleaseKey(KeyboardKey key)
    {
        CheckKey(key);
        if (_repeatingKey == (int)key)
        {
            _repeatingKey = -1;
            _repeatTimer.Cancel();
        }

        if (!_scanningEnabled)
        {
            DroppedKeyEvents++;
            return;
        }

        SendBreak(key);
        _dataAvailable();
    }

    /// <summary>Presses and releases a key.</summary>
    /// <param name="key">The key.</param>
    public void TapKey(KeyboardKey key)
    {
        PressKey(key);
        ReleaseKey(key);
    }

    /// <summary>
    /// Types text on a US layout: each character becomes its key's make and break codes, wrapped in
    /// Left Shift make and break when the character needs Shift. "\r\n" types one Enter.
    /// </summary>
    /// <param name="text">Printable ASCII plus \n, \r, \t, \b and Esc (\x1b).</param>
    /// <exception cref="ArgumentException">When a character has no key on a US keyboard; nothing is typed then.</exception>
    public void TypeText(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        for (int i = 0; i < text.Length; i++)
        {
            if (!ScanCodeTables.TryMapCharacter(text[i], out _, out _))
            {
                throw new ArgumentException($"Character U+{(int)text[i]:X4} at index {i} has no key on a US keyboard.", nameof(text));
            }
        }

        for (int i = 0; i < text.Length; i++)
        {
            if (text[i] == '\r' && i + 1 < text.Length && text[i + 1] == '\n')
            {
                continue;
            }

            ScanCodeTables.TryMapCharacter(text[i], out KeyboardKey key, out bool shift);
            if (shift)
            {
                PressKey(KeyboardKey.LeftShift);
            }

            TapKey(key);
            if (shift)
            {
                ReleaseKey(KeyboardKey.LeftShift);
            }
        }
    }

    internal bool TryTakeByte(out byte value) => _output.TryDequeue(out value);

    /// <summary>A byte from the controller (port 60h write, keyboard side).</summary>
    internal void ReceiveCommand(byte command)
    {
        if (_pendingCommand != 0 && command < 0x80)
        {
            ReceiveParameter(command);
            _dataAvailable();
            return;
        }

        // A byte of 80h and above while a parameter is expected is a new command (IBM: "a command
        // received in place of an option byte aborts the previous command").
        _pendingCommand = 0;
        switch (command)
        {
            case 0xED: // set/reset LEDs
            case 0xF0: // select alternate scan codes
            case 0xF3: // set typematic rate/delay
                Send(Ack);
                _pendingCommand = command;
                break;
            case 0xEE: // echo
                Send(0xEE);
                break;
            case 0xF2: // read ID: MF2 keyboard AB 83 (the controller's translation turns 83h into 41h)
                Send(Ack);
                Send(0xAB);
                Send(0x83);
                break;
            case 0xF4: // enable: clears the output buffer, starts scanning
                _output.Clear();
                _scanningEnabled = true;
                Send(Ack);
                break;
            case 0xF5: // default disable
                _output.Clear();
                SetDefaults();
                _scanningEnabled = false;
                Send(Ack);
                break;
            case 0xF6: // set default
                _output.Clear();
                SetDefaults();
                _scanningEnabled = true;
                Send(Ack);
                break;
            case >= 0xF7 and <= 0xFD: // set-3 key type commands: acknowledged, no effect in sets 1 and 2
                Send(Ack);
                break;
            case 0xFE: // resend
                Send(_lastSent);
                break;
            case 0xFF: // reset: ACK, then basic assurance test result
                _output.Clear();
                PowerOn();
                Send(Ack);
                Send(SelfTestPassed);
                break;
            default:
                _misuse("unknown keyboard command", command);
                Send(Resend);
                break;
        }

        _dataAvailable();
    }

    internal Ps2KeyboardState SaveState() => new(
        Ps2KeyboardState.CurrentVersion, [.. _output], _scanCodeSet, _scanningEnabled, _leds, _typematic,
        _pendingCommand, _lastSent, _repeatingKey, _repeatTimer.DeadlineNanoseconds);

    internal static void Validate(Ps2KeyboardState state, string device)
    {
        if (state is null || state.Version != Ps2KeyboardState.CurrentVersion || state.Output is null ||
            state.ScanCodeSet is < 1 or > 2 || (state.RepeatingKey != -1 && !ScanCodeTables.IsDefined((KeyboardKey)state.RepeatingKey)))
        {
            throw new ArgumentException($"{device}: invalid Ps2KeyboardState (version {state?.Version}, set {state?.ScanCodeSet}, repeating key {state?.RepeatingKey}).", nameof(state));
        }
    }

    internal void RestoreState(Ps2KeyboardState state)
    {
        _output.Clear();
        foreach (byte b in state.Output)
        {
            _output.Enqueue(b);
        }

        _scanCodeSet = state.ScanCodeSet;
        _scanningEnabled = state.ScanningEnabled;
        _leds = state.Leds;
        _typematic = state.Typematic;
        _pendingCommand = state.PendingCommand;
        _lastSent = state.LastSent;
        _repeatingKey = state.RepeatingKey;
        if (state.RepeatDeadline == long.MaxValue)
        {
            _repeatTimer.Cancel();
        }
        else
        {
            _repeatTimer.ScheduleAt(state.RepeatDeadline);
        }
    }

    /// <summary>Power-on state: defaults, scanning enabled, empty buffer.</summary>
    internal void PowerOn()
    {
        _output.Clear();
        SetDefaults();
        _scanningEnabled = true;
        _leds = 0;
        _pendingCommand = 0;
        _lastSent = 0;
    }

    private long TypematicDelayNanoseconds => (((_typematic >> 5) & 3) + 1) * 250_000_000L;

    // IBM keyboard reference, "Set Typematic Rate/Delay": period = (8 + A) * 2^B * 4.17 ms,
    // A = bits 0-2, B = bits 3-4 (about 30 characters per second at 00h, 2 at 1Fh).
    private long TypematicPeriodNanoseconds => (8 + (_typematic & 7)) * (1L << ((_typematic >> 3) & 3)) * 4_170_000L;

    private static void CheckKey(KeyboardKey key)
    {
        if (!ScanCodeTables.IsDefined(key))
        {
            throw new ArgumentOutOfRangeException(nameof(key), key, "Not a keyboard key.");
        }
    }

    private void SetDefaults()
    {
        _scanCodeSet = 2;
        _typematic = DefaultTypematic;
        _repeatingKey = -1;
        _repeatTimer.Cancel();
    }

    private void ReceiveParameter(byte value)
    {
        byte command = _pendingCommand;
        _pendingCommand = 0;
        switch (command)
        {
            case 0xED:
                _leds = (byte)(value & 7);
                Send(Ack);
                break;
            case 0xF3:
                _typematic = (byte)(value & 0x7F);
                Send(Ack);
                break;
            default: // F0h
                if (value == 0)
                {
                    Send(Ack);
                    Send(_scanCodeSet);
                }
                else if (value is 1 or 2)
                {
                    _scanCodeSet = value;
                    Send(Ack);
                }
                else
                {
                    // Set 3 is not implemented: refuse it, the keyboard keeps its set.
                    _misuse("unsupported scan code set", value);
                    Send(Resend);
                }

                break;
        }
    }

    private void OnRepeat()
    {
        if (_repeatingKey < 0 || !_scanningEnabled)
        {
            return;
        }

        SendMake((KeyboardKey)_repeatingKey);
        _repeatTimer.ScheduleAt(_clock.NowNanoseconds + TypematicPeriodNanoseconds);
        _dataAvailable();
    }

    private void SendMake(KeyboardKey key)
    {
        bool set1 = _scanCodeSet == 1;
        switch (key)
        {
            case KeyboardKey.PrintScreen:
                if (set1)
                {
                    SendAll(0xE0, 0x2A, 0xE0, 0x37);
                }
                else
                {
                    SendAll(0xE0, 0x12, 0xE0, 0x7C);
                }

                return;
            case KeyboardKey.Pause:
                if (set1)
                {
                    SendAll(0xE1, 0x1D, 0x45, 0xE1, 0x9D, 0xC5);
                }
                else
                {
                    SendAll(0xE1, 0x14, 0x77, 0xE1, 0xF0, 0x14, 0xF0, 0x77);
                }

                return;
        }

        (ushort set1Code, ushort set2Code) = ScanCodeTables.Codes(key);
        ushort code = set1 ? set1Code : set2Code;
        if (code > 0xFF)
        {
            Send(0xE0);
        }

        Send((byte)code);
    }

    private void SendBreak(KeyboardKey key)
    {
        bool set1 = _scanCodeSet == 1;
        switch (key)
        {
            case KeyboardKey.PrintScreen:
                if (set1)
                {
                    SendAll(0xE0, 0xB7, 0xE0, 0xAA);
                }
                else
                {
                    SendAll(0xE0, 0xF0, 0x7C, 0xE0, 0xF0, 0x12);
                }

                return;
            case KeyboardKey.Pause:
                return; // Pause has no break code
        }

        (ushort set1Code, ushort set2Code) = ScanCodeTables.Codes(key);
        if (set1)
        {
            if (set1Code > 0xFF)
            {
                Send(0xE0);
            }

            Send((byte)(set1Code | 0x80));
        }
        else
        {
            if (set2Code > 0xFF)
            {
                Send(0xE0);
            }

            Send(0xF0);
            Send((byte)set2Code);
        }
    }

    private void SendAll(params ReadOnlySpan<byte> bytes)
    {
        foreach (byte b in bytes)
        {
            Send(b);
        }
    }

    private void Send(byte value)
    {
        _output.Enqueue(value);
        _lastSent = value;
    }
}
