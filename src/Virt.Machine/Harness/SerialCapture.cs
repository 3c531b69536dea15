using System.Runtime.CompilerServices;
using System.Text;
using Virt.Devices;

namespace Virt.Machine;

/// <summary>
/// A serial backend for test harnesses: it keeps the guest's output in a ring buffer of fixed size, serves it as text
/// (<see cref="GetText"/>) and as asynchronous streams of chunks or lines, and lets <see cref="Machine.WaitForSerialAsync(string, long, TimeSpan, CancellationToken)"/>
/// stop the machine at the exact byte that completes a pattern. Attach one with <see cref="MachineBuilder.WithSerialCapture"/>
/// and get it back with <see cref="Machine.GetSerialCapture"/>.
/// </summary>
/// <remarks>
/// Memory is bounded: the capture holds at most <see cref="CapacityInBytes"/> bytes (default 1 MiB). When the guest
/// prints more, the oldest bytes are dropped and counted in <see cref="DroppedBytes"/>, so a guest that prints for ever
/// costs the host no more than the budget. The guest is never slowed down: the capture takes every byte at once (no flow
/// control). The buffer starts at 4 KiB and doubles up to the budget as output arrives. The machine thread writes; any
/// thread may read.
/// </remarks>
public sealed class SerialCapture : ISerialBackend
{
    /// <summary>The default byte budget (1 MiB).</summary>
    public const int DefaultCapacityInBytes = 1 << 20;

    /// <summary>The smallest byte budget accepted (256 bytes).</summary>
    public const int MinimumCapacityInBytes = 256;

    /// <summary>The first size of the buffer, which doubles as output arrives until it reaches the budget.</summary>
    private const int InitialBufferSizeInBytes = 4096;

    private readonly int _capacity;
    private byte[] _ring;
    private readonly Lock _lock = new();
    private long _totalBytes;
    private bool _completed;
    private TaskCompletionSource? _dataArrived;
    private SerialPatternMatcher? _matcher;
    private Action? _onMatch;
    private long _searchStart;

    /// <summary>Creates a capture.</summary>
    /// <param name="capacityInBytes">The byte budget: how many of the most recent bytes are kept (at least <see cref="MinimumCapacityInBytes"/>).</param>
    /// <exception cref="ArgumentOutOfRangeException">When <paramref name="capacityInBytes"/> is below <see cref="MinimumCapacityInBytes"/>.</exception>
    public SerialCapture(int capacityInBytes = DefaultCapacityInBytes)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacityInBytes, MinimumCapacityInBytes);
        _capacity = capacityInBytes;
        _ring = new byte[Math.Min(capacityInBytes, InitialBufferSizeInBytes)];
    }

    /// <summary>The byte budget: the most bytes kept.</summary>
    public int CapacityInBytes => _capacity;

    /// <summary>The number of bytes the guest has sent since the capture was created (kept or dropped).</summary>
    public long TotalBytes
    {
        get
        {
            lock (_lock)
            {
                return _totalBytes;
            }
        }
    }

    /// <summary>The number of bytes dropped (the oldest) to stay within <see cref="CapacityInBytes"/>.</summary>
    public long DroppedBytes
    {
        get
        {
            lock (_lock)
            {
                return Math.Max(0, _totalBytes - _capacity);
            }
        }
    }

    /// <summary>The number of bytes kept now (at most <see cref="CapacityInBytes"/>).</summary>
    public int Count
    {
        get
        {
            lock (_lock)
            {
                return RetainedCount;
            }
        }
    }

    /// <summary>Whether <see cref="Complete"/> was called (the machine was disposed): the streams end once drained.</summary>
    public bool IsCompleted
    {
        get
        {
            lock (_lock)
            {
                return _completed;
            }
        }
    }

    private int RetainedCount => (int)Math.Min(_totalBytes, _capacity);

    /// <summary>Copies the bytes kept, oldest first.</summary>
    /// <returns>A new array.</returns>
    public byte[] ToArray()
    {
        lock (_lock)
        {
            return CopyRange(_totalBytes - RetainedCount, _totalBytes);
        }
    }

    /// <summary>The bytes kept, decoded as UTF-8 (a sequence cut by dropping shows as U+FFFD).</summary>
    /// <returns>The text.</returns>
    public string GetText() => Encoding.UTF8.GetString(ToArray());

    /// <summary>
    /// The guest's output as it arrives, in chunks (whatever arrived since the last one, decoded as UTF-8; a character split
    /// across chunks is kept whole). Starts with the oldest byte still kept; bytes dropped before this reader got to them
    /// are skipped. Ends when the capture is completed (the machine is disposed) and everything has been read. Any number
    /// of readers may enumerate at once, each at its own pace.
    /// </summary>
    /// <param name="cancellationToken">Ends the enumeration with <see cref="OperationCanceledException"/>.</param>
    /// <returns>The chunks.</returns>
    public async IAsyncEnumerable<string> ReadChunksAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        Decoder decoder = Encoding.UTF8.GetDecoder();
        long position = 0;
        while (true)
        {
            byte[]? bytes = null;
            Task? wait = null;
            bool completed = false;
            lock (_lock)
            {
                position = Math.Max(position, _totalBytes - RetainedCount);
                if (position < _totalBytes)
                {
                    bytes = CopyRange(position, _totalBytes);
                    position = _totalBytes;
                }
                else if (_completed)
                {
                    completed = true;
                }
                else
                {
                    _dataArrived ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                    wait = _dataArrived.Task;
                }
            }

            if (bytes is not null)
            {
                string text = Decode(decoder, bytes, flush: false);
                if (text.Length > 0)
                {
                    yield return text;
                }
            }
            else if (completed)
            {
                string rest = Decode(decoder, [], flush: true);
                if (rest.Length > 0)
                {
                    yield return rest;
                }

                yield break;
            }
            else
            {
                await wait!.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// The guest's output as lines, without their line ends (<c>\n</c> or <c>\r\n</c>); see <see cref="ReadChunksAsync"/>
    /// for where it starts and ends. A line longer than <see cref="CapacityInBytes"/> characters is given in pieces of
    /// that length, so a guest that never ends its line cannot make a reader hold more than the budget; the last line
    /// is given at the end even without a line end.
    /// </summary>
    /// <param name="cancellationToken">Ends the enumeration with <see cref="OperationCanceledException"/>.</param>
    /// <returns>The lines.</returns>
    public async IAsyncEnumerable<string> ReadLinesAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var line = new StringBuilder();
        await foreach (string chunk in ReadChunksAsync(cancellationToken).ConfigureAwait(false))
        {
            foreach (char c in chunk)
            {
                if (c == '\n')
                {
                    int length = line.Length > 0 && line[^1] == '\r' ? line.Length - 1 : line.Length;
                    yield return line.ToString(0, length);
                    line.Clear();
                }
                else
                {
                    line.Append(c);
                    if (line.Length >= _capacity)
                    {
                        yield return line.ToString();
                        line.Clear();
                    }
                }
            }
        }

        if (line.Length > 0)
        {
            yield return line.ToString();
        }
    }

    /// <summary>Ends the streams once drained (the machine calls it when disposed). Later output is still kept.</summary>
    public void Complete()
    {
        TaskCompletionSource? waiter;
        lock (_lock)
        {
            _completed = true;
            waiter = _dataArrived;
            _dataArrived = null;
        }

        waiter?.TrySetResult();
    }

    /// <inheritdoc/>
    public bool TryTransmit(byte value)
    {
        TaskCompletionSource? waiter;
        Action? onMatch = null;
        lock (_lock)
        {
            if (_totalBytes == _ring.Length && _ring.Length < _capacity)
            {
                // Not full yet, so nothing has wrapped: the buffer grows by doubling, and a quiet guest costs little.
                Array.Resize(ref _ring, (int)Math.Min((long)_ring.Length * 2, _capacity));
            }

            _ring[_totalBytes % _capacity] = value;
            _totalBytes++;
            if (_matcher is { } matcher && matcher.Match is null && matcher.Feed(value, _totalBytes))
            {
                onMatch = _onMatch;
            }

            waiter = _dataArrived;
            _dataArrived = null;
        }

        onMatch?.Invoke();
        waiter?.TrySetResult();
        return true;
    }

    /// <inheritdoc/>
    public int TryReceive(Span<byte> destination) => 0;

    /// <summary>
    /// Arms <paramref name="matcher"/>: it first reads the output kept since the end of the last match (so text printed
    /// before the wait counts, once), then each new byte; <paramref name="onMatch"/> runs on the machine thread at the
    /// byte that completes a match.
    /// </summary>
    /// <returns>True when the kept output already holds a match (nothing is armed then).</returns>
    internal bool Arm(SerialPatternMatcher matcher, Action onMatch)
    {
        lock (_lock)
        {
            if (_matcher is not null)
            {
                throw new InvalidOperationException("A wait on this serial capture is already in progress; a machine runs one wait at a time.");
            }

            long start = Math.Max(_searchStart, _totalBytes - RetainedCount);
            for (long i = start; i < _totalBytes; i++)
            {
                if (matcher.Feed(_ring[i % _capacity], i + 1))
                {
                    _searchStart = i + 1;
                    return true;
                }
            }

            _matcher = matcher;
            _onMatch = onMatch;
            return false;
        }
    }

    /// <summary>Disarms the matcher; a match it made moves the search start past it.</summary>
    internal void Disarm()
    {
        lock (_lock)
        {
            if (_matcher?.Match is { } match)
            {
                _searchStart = match.EndOffset;
            }

            _matcher = null;
            _onMatch = null;
        }
    }

    private byte[] CopyRange(long start, long end)
    {
        byte[] result = new byte[end - start];
        int first = (int)(start % _capacity);
        int firstLength = Math.Min(result.Length, _capacity - first);
        _ring.AsSpan(first, firstLength).CopyTo(result);
        _ring.AsSpan(0, result.Length - firstLength).CopyTo(result.AsSpan(firstLength));
        return result;
    }

    private static string Decode(Decoder decoder, byte[] bytes, bool flush)
    {
        char[] chars = new char[decoder.GetCharCount(bytes, flush)];
        int count = decoder.GetChars(bytes, chars, flush);
        return new string(chars, 0, count);
    }
}
