using Virt.Devices;

namespace Virt.Machine;

/// <summary>
/// A device's interrupt output behind a switch: the device drives it as usual, and the line passes the level on only
/// while <see cref="Connected"/>. The board puts the PIT and the RTC behind one each, which the HPET opens in legacy
/// replacement mode (IA-PC HPET specification 1.0a, 2.3.5 and Figure 5).
/// </summary>
internal sealed class SwitchableInterruptLine(IInterruptLine inner) : IInterruptLine
{
    private bool _connected = true;

    public bool IsAsserted { get; private set; }

    /// <summary>Whether the device's level reaches the wire; reconnecting passes the current level on.</summary>
    public bool Connected
    {
        get => _connected;
        set
        {
            _connected = value;
            inner.SetLevel(value && IsAsserted);
        }
    }

    public void SetLevel(bool asserted)
    {
        IsAsserted = asserted;
        if (_connected)
        {
            inner.SetLevel(asserted);
        }
    }

    public void Pulse()
    {
        if (_connected)
        {
            inner.Pulse();
        }

        IsAsserted = false;
    }
}
