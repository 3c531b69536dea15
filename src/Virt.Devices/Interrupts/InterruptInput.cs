namespace Virt.Devices;

/// <summary>
/// One input of an interrupt controller (a PIC IR pin, an I/O APIC pin) as a wire shared by any number of devices:
/// each device gets its own <see cref="InterruptLine"/> from <see cref="CreateLine"/>, and the input's level is the OR of
/// their levels (ISA open-collector sharing, PCI INTx wire-OR). The receiver is told when that OR changes; whether it
/// latches edges or follows the level is its own configuration.
/// </summary>
public sealed class InterruptInput
{
    private readonly Action<bool> _levelChanged;
    private int _assertedCount;

    /// <summary>Creates an input that reports its level changes to a receiver.</summary>
    /// <param name="name">A name for messages, for example <c>"IRQ4"</c>.</param>
    /// <param name="levelChanged">Called with the new level each time the OR of the lines changes.</param>
    public InterruptInput(string name, Action<bool> levelChanged)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(levelChanged);
        Name = name;
        _levelChanged = levelChanged;
    }

    /// <summary>The name given at construction.</summary>
    public string Name { get; }

    /// <summary>The input's level: whether any line is asserted.</summary>
    public bool Level => _assertedCount != 0;

    /// <summary>How many lines are currently asserted.</summary>
    public int AssertedLineCount => _assertedCount;

    /// <summary>Creates a device's line on this input, initially deasserted.</summary>
    /// <param name="owner">The device's name, for messages.</param>
    /// <returns>The line to inject into the device.</returns>
    public InterruptLine CreateLine(string owner)
    {
        ArgumentException.ThrowIfNullOrEmpty(owner);
        return new InterruptLine(this, owner);
    }

    internal void Change(bool asserted)
    {
        if (asserted)
        {
            if (_assertedCount++ == 0)
            {
                _levelChanged(true);
            }
        }
        else if (--_assertedCount == 0)
        {
            _levelChanged(false);
        }
    }
}
