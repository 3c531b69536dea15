using System.Buffers;
using System.IO.Pipelines;

namespace Virt.Devices;

/// <summary>
/// A serial backend on <see cref="System.IO.Pipelines"/>. The host writes bytes for the guest into a
/// <see cref="PipeWriter"/> and reads the guest's output from a <see cref="PipeReader"/>, from any
/// thread; the UART takes input with <see cref="PipeReader.TryRead"/> and gives output with a
/// non-blocking flush, on the machine thread, so the only synchronisation is the pipes' own.
/// </summary>
/// <remarks>
/// Flow control both ways, without loss: input the UART has no room for stays in the pipe (the host
/// writer is paused by the pipe's threshold, not by the UART), and when the host does not read the
/// guest's output and the pipe passes its pause threshold, <see cref="TryTransmit"/> refuses bytes
/// until the host catches up, so the guest sees its transmitter busy.
/// </remarks>
public sealed class PipeSerialBackend : ISerialBackend, IDisposable
{
    private readonly PipeReader _fromHost;
    private readonly PipeWriter _toHost;
    private Task<FlushResult>? _pendingFlush;
    private bool _inputEnded;
    private bool _outputEnded;

    /// <summary>Creates the backend with two new pipes; the host uses <see cref="HostConnection"/>.</summary>
    /// <param name="options">Options of both pipes (thresholds, schedulers); the defaults when null.</param>
    public PipeSerialBackend(PipeOptions? options = null)
    {
        var toGuest = new Pipe(options ?? PipeOptions.Default);
        var fromGuest = new Pipe(options ?? PipeOptions.Default);
        _fromHost = toGuest.Reader;
        _toHost = fromGuest.Writer;
        HostConnection = new DuplexPipe(fromGuest.Reader, toGuest.Writer);
    }

    /// <summary>Creates the backend on an existing connection (for example one end of a socket pipe).</summary>
    /// <param name="guestConnection">
    /// Its <see cref="IDuplexPipe.Input"/> carries bytes to the guest and must show written data to
    /// <see cref="PipeReader.TryRead"/> without a pending read (a <see cref="Pipe"/>'s reader does;
    /// for a <see cref="Stream"/> use <see cref="StreamSerialBackend"/>); its <see cref="IDuplexPipe.Output"/>
    /// receives the guest's bytes.
    /// </param>
    public PipeSerialBackend(IDuplexPipe guestConnection)
    {
        ArgumentNullException.ThrowIfNull(guestConnection);
        _fromHost = guestConnection.Input;
        _toHost = guestConnection.Output;
    }

    /// <summary>
    /// The host's end when this backend created the pipes: write to its <see cref="IDuplexPipe.Output"/>
    /// to send to the guest, read its <see cref="IDuplexPipe.Input"/> for what the guest sent. Null when
    /// the backend was created on an existing connection.
    /// </summary>
    public IDuplexPipe? HostConnection { get; }

    /// <summary>The number of guest bytes discarded because the host completed its reader.</summary>
    public long DiscardedBytes { get; private set; }

    /// <summary>Whether the host completed its writer and every byte it wrote was taken.</summary>
    public bool InputEnded => _inputEnded;

    /// <inheritdoc/>
    public bool TryTransmit(byte value)
    {
        if (_outputEnded)
        {
            DiscardedBytes++;
            return true;
        }

        if (_pendingFlush is { } pending)
        {
            if (!pending.IsCompleted)
            {
                return false;
            }

            _pendingFlush = null;
            if (!pending.IsCompletedSuccessfully || pending.Result.IsCompleted)
            {
                _outputEnded = true;
                DiscardedBytes++;
                return true;
            }
        }

        try
        {
            Span<byte> span = _toHost.GetSpan(1);
            span[0] = value;
            _toHost.Advance(1);
            ValueTask<FlushResult> flush = _toHost.FlushAsync();
            if (flush.IsCompletedSuccessfully)
            {
                if (flush.Result.IsCompleted)
                {
                    _outputEnded = true;
                }
            }
            else
            {
                // Above the pause threshold: the byte is in the pipe; refuse more until the host reads.
                _pendingFlush = flush.AsTask();
            }
        }
        catch (InvalidOperationException)
        {
            // The writer was completed by the host side: nobody listens any more.
            _outputEnded = true;
            DiscardedBytes++;
        }

        return true;
    }

    /// <inheritdoc/>
    public int TryReceive(Span<byte> destination)
    {
        if (_inputEnded || destination.IsEmpty)
        {
            return 0;
        }

        ReadResult result;
        try
        {
            if (!_fromHost.TryRead(out result))
            {
                return 0;
            }
        }
        catch (Exception ex) when (ex is InvalidOperationException or IOException or OperationCanceledException)
        {
            // The host completed its writer with an error (a broken stream): treat as end of input.
            _inputEnded = true;
            return 0;
        }

        ReadOnlySequence<byte> buffer = result.Buffer;
        int count = (int)Math.Min(buffer.Length, destination.Length);
        buffer.Slice(0, count).CopyTo(destination);
        _fromHost.AdvanceTo(buffer.GetPosition(count));
        if (result.IsCompleted && count == buffer.Length)
        {
            _inputEnded = true;
        }

        return count;
    }

    /// <summary>Completes the machine's ends of both pipes: the host's reader sees the end of the guest's output.</summary>
    public void Dispose()
    {
        _fromHost.Complete();
        _toHost.Complete();
    }
}
