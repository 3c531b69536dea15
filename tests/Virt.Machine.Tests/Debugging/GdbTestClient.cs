using System.Net;
using System.Net.Sockets;
using System.Text;
using Xunit;

namespace Virt.Machine.Tests.Debugging;

/// <summary>A minimal RSP client over loopback: sends framed packets, acknowledges and returns replies.</summary>
internal sealed class GdbTestClient : IDisposable
{
    private static readonly TimeSpan s_replyTimeout = TimeSpan.FromSeconds(20);
    private readonly Socket _socket;
    private readonly Queue<byte> _pending = new();

    public GdbTestClient(IPEndPoint endpoint)
    {
        _socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        _socket.Connect(endpoint);
        _socket.ReceiveTimeout = (int)s_replyTimeout.TotalMilliseconds;
        _socket.NoDelay = true; // the ack and the next packet go out as two small sends: no Nagle delay between them
    }

    public static string Frame(string payload)
    {
        byte sum = 0;
        foreach (char c in payload)
        {
            sum += (byte)c;
        }

        return $"${payload}#{sum:x2}";
    }

    /// <summary>Sends a packet and returns the reply payload (the ack is checked and skipped).</summary>
    public string Request(string payload)
    {
        SendRaw(Frame(payload));
        Assert.Equal((byte)'+', ReadByte());
        return ReadPacket();
    }

    /// <summary>Sends a packet whose reply comes later (c, s); only the ack is read.</summary>
    public void Send(string payload)
    {
        SendRaw(Frame(payload));
        Assert.Equal((byte)'+', ReadByte());
    }

    public void SendRaw(string text) => _socket.Send(Encoding.Latin1.GetBytes(text));

    public void SendRaw(byte[] bytes) => _socket.Send(bytes);

    /// <summary>Reads the next byte, or -1 when the stub closed the connection.</summary>
    public int ReadByte()
    {
        if (_pending.Count == 0)
        {
            byte[] buffer = new byte[4096];
            int n = _socket.Receive(buffer);
            if (n == 0)
            {
                return -1;
            }

            foreach (byte b in buffer.AsSpan(0, n))
            {
                _pending.Enqueue(b);
            }
        }

        return _pending.Dequeue();
    }

    /// <summary>Reads one packet ($...#xx), checks its checksum, acknowledges it and returns the payload.</summary>
    public string ReadPacket()
    {
        int b;
        while ((b = ReadByte()) != '$')
        {
            Assert.True(b != -1, "the stub closed the connection instead of replying");
        }

        var payload = new StringBuilder();
        byte sum = 0;
        while ((b = ReadByte()) != '#')
        {
            Assert.True(b != -1, "the stub closed the connection in a packet");
            sum += (byte)b;
            payload.Append((char)b);
        }

        string checksum = $"{(char)ReadByte()}{(char)ReadByte()}";
        Assert.Equal($"{sum:x2}", checksum);
        SendRaw("+");
        return payload.ToString();
    }

    public void Dispose() => _socket.Dispose();
}
