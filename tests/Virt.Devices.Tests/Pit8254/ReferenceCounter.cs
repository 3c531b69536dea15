namespace Virt.Devices.Tests.Pit8254;

/// <summary>
/// A slow reference 8254 counter (binary only) that steps one input-clock pulse at a time, following the datasheet's
/// per-clock description, to check the device's closed-form arithmetic against.
/// </summary>
internal sealed class ReferenceCounter
{
    private const int Modulus = 65536;

    private int _mode;
    private int _countRegister;
    private bool _hasCount;
    private bool _counting;
    private long _loadTick = -1;
    private int _ce;
    private bool _armed;
    private bool _strobe;
    private int _period;
    private int _pendingReload;
    private int _phase;

    public long Tick { get; private set; }

    public bool Gate { get; private set; }

    public bool Out { get; private set; } = true;

    public int Count => _ce % Modulus;

    public void Control(int mode)
    {
        _mode = mode;
        _hasCount = false;
        _counting = false;
        _loadTick = -1;
        _armed = false;
        _strobe = false;
        _pendingReload = 0;
        Out = mode != 0;
    }

    public void WriteCount(int count)
    {
        _countRegister = count == 0 ? Modulus : count;
        _hasCount = true;
        switch (_mode)
        {
            case 0:
                Out = false;
                _counting = false;
                _loadTick = Tick + 1;
                break;
            case 4:
                _counting = false;
                _loadTick = Tick + 1;
                break;
            case 1:
            case 5:
                break;
            default:
                if (_counting)
                {
                    _pendingReload = _countRegister;
                }
                else if (Gate)
                {
                    _loadTick = Tick + 1;
                }

                break;
        }
    }

    public void SetGate(bool level)
    {
        if (level == Gate)
        {
            return;
        }

        Gate = level;
        switch (_mode)
        {
            case 1:
            case 5:
                if (level && _hasCount)
                {
                    _counting = false;
                    _loadTick = Tick + 1;
                }

                break;
            case 2:
            case 3:
                if (!level)
                {
                    _counting = false;
                    _loadTick = -1;
                    Out = true;
                }
                else if (_hasCount)
                {
                    _loadTick = Tick + 1;
                }

                break;
            default:
                break;
        }
    }

    public void Step()
    {
        Tick++;
        if (Tick == _loadTick)
        {
            Load();
            return;
        }

        if (!_counting || (!Gate && _mode is 0 or 2 or 3 or 4))
        {
            return;
        }

        switch (_mode)
        {
            case 0:
            case 1:
                _ce = (_ce - 1 + Modulus) % Modulus;
                if (_armed && _ce == 0)
                {
                    Out = true;
                    _armed = false;
                }

                break;
            case 4:
            case 5:
                if (_strobe)
                {
                    Out = true;
                    _strobe = false;
                }

                _ce = (_ce - 1 + Modulus) % Modulus;
                if (_armed && _ce == 0)
                {
                    Out = false;
                    _armed = false;
                    _strobe = true;
                }

                break;
            case 2:
                if (_ce == 1)
                {
                    ApplyPending();
                    _ce = _period;
                }
                else
                {
                    _ce--;
                }

                Out = _ce != 1;
                break;
            default:
                // CE reloads from CR at the end of each half-cycle.
                ++_phase;
                if (_phase == (_period + 1) / 2 && _pendingReload != 0)
                {
                    ApplyPending();
                    _phase = (_period + 1) / 2;
                }
                else if (_phase >= _period)
                {
                    _phase = 0;
                    ApplyPending();
                }

                Out = _phase < (_period + 1) / 2;
                break;
        }
    }

    private void ApplyPending()
    {
        if (_pendingReload != 0)
        {
            _period = _pendingReload;
            _pendingReload = 0;
        }
    }

    private void Load()
    {
        _loadTick = -1;
        _counting = true;
        _pendingReload = 0;
        _period = _countRegister;
        _phase = 0;
        _ce = _mode == 2 ? _countRegister : _countRegister % Modulus;
        _armed = true;
        _strobe = false;
        Out = _mode switch
        {
            0 or 1 => false,
            2 => _countRegister != 1,
            _ => true,
        };
    }
}
