using System.IO.Pipelines;

namespace Virt.Devices;

/// <summary>
/// A serial backend on host <see cref="Stream"/>s (a socket's network stream, a named pipe, standard
/// input and output, a file). Two background tasks copy between the streams and a
/// <see cref="PipeSerialBackend"/>, so the machine thread never waits for stream I/O; a stream that
/// delivers faster than the guest reads is paused by the pipe, and nothing is lost.
/// </summary>
public sealed class StreamSerialBackend : ISerialBackend, IDisposable, IAsyncDisposable
{
    private static readonly TimeSpan s_drainTimeout = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan s_inputStopTimeout = TimeSpan.FromMilliseconds(200);

    private readonly PipeSerialBackend _inner;
    private readonly Pipe _toGuest;
    private readonly Pipe _fromGuest;
    private readonly Stream _input;
    private readonly Stream _output;
    private readonly bool _leaveOpen;
    private readonly CancellationTokenSource _cancellation = new();
    private readonly Task _inputPump;
    private readonly Task _outputPump;
    private bool _disposed;

    /// <summary>Creates the backend on one bidirectional stream.</summary>
    /// <param name="stream">Readable (input to the guest) and writable (the guest's output).</param>
    /// <param name="leaveOpen">Whether disposing leaves the stream open.</param>
    public StreamSerialBackend(Stream stream, bool leaveOpen = false)
        : this(stream, stream, leaveOpen)
    {
    }

    /// <summary>Creates the backend on an input and an output stream.</summary>
    /// <param name="input">A readable stream; its bytes go to the guest.</param>
    /// <param name="output">A writable stream; the guest's bytes go there.</param>
    /// <param name="leaveOpen">Whether disposing leaves the streams open.</param>
    /// <exception cref="ArgumentException">When <paramref name="input"/> cannot read or <paramref name="output"/> cannot write.</exception>
    public StreamSerialBackend(Stream input, Stream output, bool leaveOpen = false)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(output);
        if (!input.CanRead)
        {
            throw new ArgumentException("The serial input stream must be readable.", nameof(input));
        }

        if (!output.CanWrite)
        {
            throw new ArgumentException("The serial output stream must be writable.", nameof(output));
        }

        _input = input;
        _output = output;
        _leaveOpen = leaveOpen;
        _toGuest = new Pipe();
        _fromGuest = new Pipe();
        _inner = new PipeSerialBackend(new DuplexPipe(_toGuest.Reader, _fromGuest.Writer));
        _inputPump = Task.Run(() => PumpInputAsync(_cancellation.Token));
        _outputPump = Task.Run(() => PumpOutputAsync(_cancellation.Token));
    }

    /// <inheritdoc/>
    public bool TryTransmit(byte value) => _inner.TryTransmit(value);

    /// <inheritdoc/>
    public int TryReceive(Span<byte> destination) => _inner.TryReceive(destination);

    /// <summary>Ends the guest's output (after the pump writes what is queued), stops reading input and closes the streams unless left open.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _fromGuest.Writer.Complete();
        try
        {
            // Let the output pump write what the guest sent, then stop reading input. A stream that ignores
            // cancellation (console input) is not waited for long: closing it ends the pending read.
            _outputPump.Wait(s_drainTimeout);
            _cancellation.Cancel();
            _inputPump.Wait(s_inputStopTimeout);
        }
        catch (AggregateException)
        {
            // Pump failures are stream failures the guest already saw as a silent line.
        }

        Close();
    }

    /// <inheritdoc cref="Dispose"/>
    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        await _fromGuest.Writer.CompleteAsync().ConfigureAwait(false);
        await _outputPump.WaitAsync(s_drainTimeout).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        await _cancellation.CancelAsync().ConfigureAwait(false);
        await _inputPump.WaitAsync(s_inputStopTimeout).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        Close();
    }

    private void Close()
    {
        _cancellation.Dispose();
        if (!_leaveOpen)
        {
            _input.Dispose();
            if (!ReferenceEquals(_input, _output))
            {
                _output.Dispose();
            }
        }
    }

    private async Task PumpInputAsync(CancellationToken cancellationToken)
    {
        PipeWriter writer = _toGuest.Writer;
        Exception? failure = null;
        try
        {
            while (true)
            {
                Memory<byte> memory = writer.GetMemory(4096);
                int read = await _input.ReadAsync(memory, cancellationToken).ConfigureAwait(false);
                if (read == 0)
                {
                    break;
                }

                writer.Advance(read);
                FlushResult flush = await writer.FlushAsync(cancellationToken).ConfigureAwait(false);
                if (flush.IsCompleted || flush.IsCanceled)
                {
                    break;
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException)
        {
            failure = ex;
        }

        await writer.CompleteAsync(failure).ConfigureAwait(false);
    }

    private async Task PumpOutputAsync(CancellationToken cancellationToken)
    {
        PipeReader reader = _fromGuest.Reader;
        try
        {
            while (true)
            {
                ReadResult result = await reader.ReadAsync(CancellationToken.None).ConfigureAwait(false);
                foreach (ReadOnlyMemory<byte> segment in result.Buffer)
                {
                    await _output.WriteAsync(segment, cancellationToken).ConfigureAwait(false);
                }

                if (!result.Buffer.IsEmpty)
                {
                    await _output.FlushAsync(cancellationToken).ConfigureAwait(false);
                }

                reader.AdvanceTo(result.Buffer.End);
                if (result.IsCompleted)
                {
                    break;
                }
            }
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or OperationCanceledException or NotSupportedException)
        {
            // The host's stream went away: the guest's further output is discarded by the pipe backend.
        }

        await reader.CompleteAsync().ConfigureAwait(false);
    }
}
