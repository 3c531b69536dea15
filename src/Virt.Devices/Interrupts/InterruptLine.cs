namespace Virt.Devices;

/// <summary>
/// A device's interrupt output connected to an <see cref="InterruptInput"/>. The input sees the OR of all its lines, so a
/// device deasserting its line does not lower an input another device holds high.
/// </summary>
public sealed class InterruptLine : IInterruptLine
{
    private readonly InterruptInput _input;
    private bool _asserted;

    internal InterruptLine(InterruptInput input, string owner)
    {
        _input = input;
        Owner = owner;
    }

    /// <summary>The owning device's name.</summary>
    public string Owner { get; }

    /// <summary>The input this line drives.</summary>
    public InterruptInput Input => _input;

    /// <inheritdoc/>
    public bool IsAsserted => _asserted;

    /// <inheritdoc/>
    public void SetLevel(bool asserted)
    {
        if (asserted != _asserted)
        {
            _asserted = asserted;
            _input.Change(asserted);
        }
    }

    /// <inheritdoc/>
    /// <remarks>
    /// When the line is already asserted it is lowered first, so the pulse is a fresh rising edge (unless another device
    /// holds the shared input high, as on a real wire).
    /// </remarks>
    public void Pulse()
    {
        SetLevel(false);
        SetLevel(true);
        SetLevel(false);
    }

    /// <inheritdoc/>
    public override string ToString() => $"{Owner} -> {_input.Name} ({(_asserted ? "asserted" : "idle")})";
}
