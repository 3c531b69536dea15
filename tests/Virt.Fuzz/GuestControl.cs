namespace Virt.Fuzz;

/// <summary>Lets a watchdog on another thread ask the running guest to stop (CPU <c>RequestStop</c> or machine <c>Pause</c>).</summary>
public sealed class GuestControl
{
    private volatile Action? _stop;
    private volatile Func<string>? _describe;
    private volatile bool _stopRequested;

    private long _attachedTimestamp;

    /// <summary>When the guest was attached (<see cref="System.Diagnostics.Stopwatch"/> timestamp), or 0 while it is being built.</summary>
    public long AttachedTimestamp => Interlocked.Read(ref _attachedTimestamp);

    /// <summary>The process's processor time when the guest was attached.</summary>
    public TimeSpan ProcessorTimeAtAttach { get; private set; }

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
        using (var process = System.Diagnostics.Process.GetCurrentProcess())
        {
            ProcessorTimeAtAttach = process.TotalProcessorTime;
        }

        Interlocked.Exchange(ref _attachedTimestamp, System.Diagnostics.Stopwatch.GetTimestamp());
        if (_stopRequested)
        {
            stop();
        }
    }
}
