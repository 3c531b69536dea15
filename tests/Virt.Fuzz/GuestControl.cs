namespace Virt.Fuzz;

/// <summary>Lets a watchdog on another thread ask the running guest to stop (CPU <c>RequestStop</c> or machine <c>Pause</c>).</summary>
public sealed class GuestControl
{
    private volatile Action? _stop;
    private volatile Func<string>? _describe;
    private volatile bool _stopRequested;

    /// <summary>Whether <see cref="RequestStop"/> was called.</summary>
    public bool StopRequested => _stopRequested;

    /// <summary>Asks the guest to stop at its next instruction boundary (safe from any thread).</summary>
    public void RequestStop()
    {
        _stopRequested = true;
        _stop?.Invoke();
    }

    /// <summary>Where the guest is (read from the watchdog's thread while it runs, so only a hint), or empty.</summary>
    /// <returns>The text.</returns>
    public string Describe()
    {
        try
        {
            return _describe?.Invoke() ?? string.Empty;
        }
        catch (InvalidOperationException)
        {
            return string.Empty;
        }
    }

    /// <summary>Set by the runner once the guest exists.</summary>
    /// <param name="stop">What stops it.</param>
    /// <param name="describe">Where the guest is.</param>
    internal void Attach(Action stop, Func<string> describe)
    {
        _describe = describe;
        _stop = stop;
        if (_stopRequested)
        {
            stop();
        }
    }
}
