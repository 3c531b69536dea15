using System.Text.RegularExpressions;

namespace Virt.Machine;

/// <summary>
/// Harness helpers: serial captures (<see cref="MachineBuilder.WithSerialCapture"/>) and waiting for a guest to print a
/// pattern (docs/machine.md, "Harness").
/// </summary>
public sealed partial class Machine
{
    /// <summary>
    /// The most characters of the current line a regular expression given to
    /// <see cref="WaitForSerialAsync(Regex, long, TimeSpan, CancellationToken)"/> is tried against (4096): a longer line is
    /// tested on its tail, so the work per byte stays bounded.
    /// </summary>
    public const int SerialRegexWindowInCharacters = 4096;

    private SerialCapture?[] _serialCaptures = new SerialCapture?[4];
    private volatile bool _serialMatchStopRequested;

    /// <summary>The capture attached to serial port <paramref name="index"/> with <see cref="MachineBuilder.WithSerialCapture"/>.</summary>
    /// <param name="index">0 (COM1) to 3 (COM4).</param>
    /// <returns>The capture.</returns>
    /// <exception cref="ArgumentOutOfRangeException">When <paramref name="index"/> is not 0 to 3.</exception>
    /// <exception cref="InvalidOperationException">When the port has no capture.</exception>
    public SerialCapture GetSerialCapture(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(index, 3);
        return _serialCaptures[index]
            ?? throw new InvalidOperationException($"Serial port COM{index + 1} has no capture; attach one with MachineBuilder.WithSerialCapture({index}).");
    }

    /// <summary>
    /// Runs the guest (on a thread-pool thread, as <see cref="RunAsync(long?, TimeSpan?, CancellationToken)"/>) until it
    /// prints <paramref name="pattern"/> on the first serial port that has a capture, or the budget, the timeout or the
    /// cancellation ends the wait, or the guest stops (halts, exits, crashes). Never throws for guest behaviour: the
    /// result says what happened, and another run continues where this one stopped.
    /// </summary>
    /// <remarks>
    /// <para>
    /// The search starts where the previous successful wait's match ended (at first: the oldest byte kept), so text
    /// printed before the call counts, once, as with expect tools. It goes on byte by byte, across chunk boundaries.
    /// </para>
    /// <para>
    /// The stop is exact: the byte that completes the match asks the CPU to stop at the next instruction boundary, so
    /// the machine stops right after the instruction that sent it (with the default instant UART pacing: the OUT to the
    /// data register, or that iteration of a REP OUTSB). In deterministic mode the same guest stops at the same
    /// <see cref="Virt.Cpu.Cpu.RetiredInstructions"/> on every run.
    /// </para>
    /// </remarks>
    /// <param name="pattern">The text to wait for (non-empty; matched on its UTF-8 bytes).</param>
    /// <param name="instructionBudget">The instruction budget, as <see cref="Run"/>'s <c>maxInstructions</c> (positive).</param>
    /// <param name="timeout">The wall-clock limit (positive, or <see cref="Timeout.InfiniteTimeSpan"/>).</param>
    /// <param name="cancellationToken">Ends the wait with <see cref="MachineStopKind.Cancelled"/> in the result.</param>
    /// <returns>What happened.</returns>
    /// <exception cref="ArgumentException">When <paramref name="pattern"/> is empty.</exception>
    /// <exception cref="ArgumentOutOfRangeException">When the budget or the timeout is not positive.</exception>
    /// <exception cref="InvalidOperationException">When no serial port has a capture, or a wait is already in progress.</exception>
    public Task<SerialWaitResult> WaitForSerialAsync(string pattern, long instructionBudget, TimeSpan timeout, CancellationToken cancellationToken = default) =>
        WaitForSerialAsync(FirstSerialCaptureIndex(), pattern, instructionBudget, timeout, cancellationToken);

    /// <summary>Waits for <paramref name="pattern"/> on serial port <paramref name="serialPort"/>; see <see cref="WaitForSerialAsync(string, long, TimeSpan, CancellationToken)"/>.</summary>
    /// <param name="serialPort">0 (COM1) to 3 (COM4), which must have a capture.</param>
    /// <param name="pattern">The text to wait for (non-empty).</param>
    /// <param name="instructionBudget">The instruction budget (positive).</param>
    /// <param name="timeout">The wall-clock limit (positive, or <see cref="Timeout.InfiniteTimeSpan"/>).</param>
    /// <param name="cancellationToken">Ends the wait with <see cref="MachineStopKind.Cancelled"/> in the result.</param>
    /// <returns>What happened.</returns>
    public Task<SerialWaitResult> WaitForSerialAsync(int serialPort, string pattern, long instructionBudget, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(pattern);
        return StartSerialWait(GetSerialCapture(serialPort), SerialPatternMatcher.For(pattern), instructionBudget, timeout, cancellationToken);
    }

    /// <summary>
    /// Waits for a regular expression on the first serial port that has a capture; see
    /// <see cref="WaitForSerialAsync(string, long, TimeSpan, CancellationToken)"/>. The expression is tried after every
    /// character against the current line (the text since the last line feed, that line feed included, at most the last
    /// <see cref="SerialRegexWindowInCharacters"/> characters), so it is found at the earliest character that completes
    /// it; it cannot span lines.
    /// </summary>
    /// <param name="pattern">The expression.</param>
    /// <param name="instructionBudget">The instruction budget (positive).</param>
    /// <param name="timeout">The wall-clock limit (positive, or <see cref="Timeout.InfiniteTimeSpan"/>).</param>
    /// <param name="cancellationToken">Ends the wait with <see cref="MachineStopKind.Cancelled"/> in the result.</param>
    /// <returns>What happened.</returns>
    public Task<SerialWaitResult> WaitForSerialAsync(Regex pattern, long instructionBudget, TimeSpan timeout, CancellationToken cancellationToken = default) =>
        WaitForSerialAsync(FirstSerialCaptureIndex(), pattern, instructionBudget, timeout, cancellationToken);

    /// <summary>Waits for a regular expression on serial port <paramref name="serialPort"/>; see <see cref="WaitForSerialAsync(Regex, long, TimeSpan, CancellationToken)"/>.</summary>
    /// <param name="serialPort">0 (COM1) to 3 (COM4), which must have a capture.</param>
    /// <param name="pattern">The expression.</param>
    /// <param name="instructionBudget">The instruction budget (positive).</param>
    /// <param name="timeout">The wall-clock limit (positive, or <see cref="Timeout.InfiniteTimeSpan"/>).</param>
    /// <param name="cancellationToken">Ends the wait with <see cref="MachineStopKind.Cancelled"/> in the result.</param>
    /// <returns>What happened.</returns>
    public Task<SerialWaitResult> WaitForSerialAsync(int serialPort, Regex pattern, long instructionBudget, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(pattern);
        return StartSerialWait(GetSerialCapture(serialPort), SerialPatternMatcher.For(pattern), instructionBudget, timeout, cancellationToken);
    }

    /// <summary>Attaches the builder's captures (called once, right after construction).</summary>
    internal void AttachSerialCaptures(SerialCapture?[] captures) => _serialCaptures = captures;

    /// <summary>Ends the captures' streams (the machine is being disposed).</summary>
    private void CompleteSerialCaptures()
    {
        foreach (SerialCapture? capture in _serialCaptures)
        {
            capture?.Complete();
        }
    }

    private int FirstSerialCaptureIndex()
    {
        int index = Array.FindIndex(_serialCaptures, c => c is not null);
        return index >= 0
            ? index
            : throw new InvalidOperationException("No serial port has a capture; attach one with MachineBuilder.WithSerialCapture(0) (COM1).");
    }

    private Task<SerialWaitResult> StartSerialWait(SerialCapture capture, SerialPatternMatcher matcher, long instructionBudget, TimeSpan timeout, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(instructionBudget);
        if (timeout <= TimeSpan.Zero && timeout != Timeout.InfiniteTimeSpan)
        {
            throw new ArgumentOutOfRangeException(nameof(timeout), timeout, "The timeout must be positive (or Timeout.InfiniteTimeSpan).");
        }

        return Task.Factory.StartNew(
            () => WaitForSerial(capture, matcher, instructionBudget, timeout == Timeout.InfiniteTimeSpan ? null : timeout, cancellationToken),
            // Not the caller's token: a cancelled token must give a result saying so, not a cancelled task (as RunAsync).
            CancellationToken.None,
            TaskCreationOptions.LongRunning | TaskCreationOptions.DenyChildAttach,
            TaskScheduler.Default);
    }

    private SerialWaitResult WaitForSerial(SerialCapture capture, SerialPatternMatcher matcher, long instructionBudget, TimeSpan? timeout, CancellationToken cancellationToken)
    {
        if (capture.Arm(matcher, RequestSerialMatchStop))
        {
            return new SerialWaitResult(true, matcher.Match!.Text, null, 0, Cpu.RetiredInstructions) { MatchEndOffset = matcher.Match.EndOffset };
        }

        MachineStopReason stop;
        try
        {
            _serialMatchStopRequested = false;
            stop = RunCore(instructionBudget, timeout, null, cancellationToken);
        }
        finally
        {
            capture.Disarm();
            _serialMatchStopRequested = false;
        }

        long spent = LastRunInstructionsSpent;

        // The match decides, not the stop: a match at the run's last instruction (the budget ending there too) is found.
        return matcher.Match is { } match
            ? new SerialWaitResult(true, match.Text, null, spent, Cpu.RetiredInstructions) { MatchEndOffset = match.EndOffset }
            : new SerialWaitResult(false, null, stop, spent, Cpu.RetiredInstructions);
    }

    /// <summary>On the machine thread, at the byte that completed a match: stop at the next instruction boundary.</summary>
    private void RequestSerialMatchStop()
    {
        _serialMatchStopRequested = true;
        Cpu.RequestStop();
    }

    /// <summary>Returns the stop for a completed serial match, if one is pending (checked by the run loop).</summary>
    private MachineStopReason? TakeSerialMatchStop()
    {
        if (!_serialMatchStopRequested)
        {
            return null;
        }

        _serialMatchStopRequested = false;
        return new MachineStopReason(MachineStopKind.Paused, "the serial pattern was found");
    }
}
