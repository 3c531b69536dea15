using System.Net.Sockets;
using System.Text;

namespace Virt.Machine.Debugging;

/// <summary>
/// The framing layer of the GDB Remote Serial Protocol over one socket: <c>$payload#checksum</c> packets, <c>+</c>/<c>-</c>
/// acknowledgements (until QStartNoAckMode), <c>}</c> escapes and the out-of-band interrupt byte 0x03
/// (GDB manual, Appendix E.1 "Overview" and E.8 "Interrupts").
/// </summary>
/// <remarks>Never throws on malformed input: a bad checksum is nacked, an oversized packet dropped and nacked.</remarks>
internal sealed class GdbConnection : IDisposable
{
    /// <summary>The largest packet payload accepted; anything longer is discarded. Matches the PacketSize announced in qSupported.</summary>
    public const int MaxPacketSizeInBytes = 0x4000;

    private const byte InterruptByte = 0x03;
    private const byte EscapeByte = (byte)'}';
    private const byte EscapeXor = 0x20;

    private readonly Socket _socket;
    private readonly byte[] _receiveBuffer = new byte[4096];
    private readonly List<byte> _payload = [];
    private int _receiveStart;
    private int _receiveEnd;
    private ParseState _state = ParseState.Idle;
    private int _checksumDigits;
    private byte _checksum;
    private byte _computed;
    private bool _escaped;
    private bool _oversized;
    private byte[] _lastReply = [];

    public GdbConnection(Socket socket)
    {
        _socket = socket;
        _socket.NoDelay = true;
    }

    private enum ParseState
    {
        Idle,
        Payload,
        Checksum,
    }

    /// <summary>Whether the peer closed the connection or it failed.</summary>
    public bool IsClosed { get; private set; }

    /// <summary>After QStartNoAckMode: no acknowledgements are sent.</summary>
    public bool NoAckMode { get; set; }

    /// <summary>The number of packets rejected (bad checksum, oversized).</summary>
    public int RejectedPackets { get; private set; }

    /// <summary>
    /// Waits up to <paramref name="timeout"/> for the next complete packet (or an interrupt byte).
    /// </summary>
    /// <returns>The payload, <see cref="GdbConnectionEvent.Interrupt"/>, or none when the time passed or the connection closed.</returns>
    public GdbConnectionEvent Receive(TimeSpan timeout, out byte[] payload)
    {
        payload = [];
        while (!IsClosed)
        {
            while (_receiveStart < _receiveEnd)
            {
                byte b = _receiveBuffer[_receiveStart++];
                GdbConnectionEvent e = Feed(b, out payload);
                if (e != GdbConnectionEvent.None)
                {
                    return e;
                }
            }

            if (!Fill(timeout))
            {
                return GdbConnectionEvent.None;
            }

            // After the first wait, only drain what has already arrived.
            timeout = TimeSpan.Zero;
        }

        return GdbConnectionEvent.None;
    }

    /// <summary>Sends a packet with the given payload (ASCII) and remembers it for a retransmission on a nack.</summary>
    public void Send(string payload) => Send(Encoding.ASCII.GetBytes(payload));

    /// <summary>Sends a packet with the given payload; '$', '#', '}' and '*' are escaped.</summary>
    public void Send(ReadOnlySpan<byte> payload)
    {
        var frame = new List<byte>(payload.Length + 4) { (byte)'$' };
        byte sum = 0;
        foreach (byte b in payload)
        {
            if (b is (byte)'$' or (byte)'#' or EscapeByte or (byte)'*')
            {
                frame.Add(EscapeByte);
                sum += EscapeByte;
                frame.Add((byte)(b ^ EscapeXor));
                sum += (byte)(b ^ EscapeXor);
            }
            else
            {
                frame.Add(b);
                sum += b;
            }
        }

        frame.Add((byte)'#');
        frame.Add(HexDigit(sum >> 4));
        frame.Add(HexDigit(sum & 0xF));
        _lastReply = [.. frame];
        SendRaw(_lastReply);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        IsClosed = true;
        try
        {
            _socket.Shutdown(SocketShutdown.Both);
        }
        catch (SocketException)
        {
            // Already gone: nothing to shut down.
        }
        catch (ObjectDisposedException)
        {
            // Already disposed.
        }

        _socket.Dispose();
    }

    private static byte HexDigit(int value) => (byte)"0123456789abcdef"[value];

    private static int HexValue(byte b) => b switch
    {
        >= (byte)'0' and <= (byte)'9' => b - '0',
        >= (byte)'a' and <= (byte)'f' => b - 'a' + 10,
        >= (byte)'A' and <= (byte)'F' => b - 'A' + 10,
        _ => -1,
    };

    private GdbConnectionEvent Feed(byte b, out byte[] payload)
    {
        payload = [];
        switch (_state)
        {
            case ParseState.Idle:
                if (b == (byte)'$')
                {
                    _state = ParseState.Payload;
                    _payload.Clear();
                    _computed = 0;
                    _escaped = false;
                    _oversized = false;
                }
                else if (b == InterruptByte)
                {
                    return GdbConnectionEvent.Interrupt;
                }
                else if (b == (byte)'-' && !NoAckMode && _lastReply.Length != 0)
                {
                    SendRaw(_lastReply);
                }

                // '+' acknowledges our last reply; anything else between packets is noise and ignored.
                return GdbConnectionEvent.None;
            case ParseState.Payload:
                if (b == (byte)'#')
                {
                    _state = ParseState.Checksum;
                    _checksumDigits = 0;
                    _checksum = 0;
                    return GdbConnectionEvent.None;
                }

                _computed += b;
                if (_payload.Count >= MaxPacketSizeInBytes)
                {
                    _oversized = true;
                    return GdbConnectionEvent.None;
                }

                if (_escaped)
                {
                    _payload.Add((byte)(b ^ EscapeXor));
                    _escaped = false;
                }
                else if (b == EscapeByte)
                {
                    _escaped = true;
                }
                else
                {
                    _payload.Add(b);
                }

                return GdbConnectionEvent.None;
            default:
                int digit = HexValue(b);
                _checksum = (byte)((_checksum << 4) | (digit < 0 ? 0 : digit));
                bool badDigit = digit < 0;
                if (++_checksumDigits < 2 && !badDigit)
                {
                    return GdbConnectionEvent.None;
                }

                _state = ParseState.Idle;
                if (badDigit || _oversized || _checksum != _computed)
                {
                    RejectedPackets++;
                    if (!NoAckMode)
                    {
                        SendRaw("-"u8);
                    }

                    return GdbConnectionEvent.None;
                }

                if (!NoAckMode)
                {
                    SendRaw("+"u8);
                }

                payload = [.. _payload];
                return GdbConnectionEvent.Packet;
        }
    }

    private bool Fill(TimeSpan timeout)
    {
        try
        {
            int microseconds = timeout >= TimeSpan.FromSeconds(1) ? 1_000_000 : (int)(timeout.Ticks / 10);
            if (!_socket.Poll(microseconds, SelectMode.SelectRead))
            {
                return false;
            }

            int n = _socket.Receive(_receiveBuffer);
            if (n == 0)
            {
                IsClosed = true;
                return false;
            }

            _receiveStart = 0;
            _receiveEnd = n;
            return true;
        }
        catch (SocketException)
        {
            IsClosed = true;
            return false;
        }
        catch (ObjectDisposedException)
        {
            IsClosed = true;
            return false;
        }
    }

    private void SendRaw(ReadOnlySpan<byte> bytes)
    {
        if (IsClosed)
        {
            return;
        }

        try
        {
            while (!bytes.IsEmpty)
            {
                int n = _socket.Send(bytes);
                bytes = bytes[n..];
            }
        }
        catch (SocketException)
        {
            IsClosed = true;
        }
        catch (ObjectDisposedException)
        {
            IsClosed = true;
        }
    }
}
