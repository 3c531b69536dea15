
namespace Virt.Devices.Tests.Fakes;

/// <summary>A serial backend over in-memory queues; the host can refuse output to simulate a slow reader.</summary>
public sealed class QueueSerialBackend : ISerialBackend
{
    public Queue<byte> Input { get; } = new();

    public List<byte> Output { get; } = [];

    public bool RefuseOutput { get; set; }

    /// <summary>Refuses this many more transmit attempts, then accepts (a host reader that catches up).</summary>
    public int RefuseNextAttempts { get; set; }

    public bool TryTransmit(byte value)
    {
        if (RefuseOutput)
        {
            return false;
        }

        if (RefuseNextAttempts > 0)
        {
            RefuseNextAttempts--;
            return false;
        }

        Output.Add(value);
        return true;
    }

    public int TryReceive(Span<byte> destination)
    {
        int count = 0;
        while (count < destination.Length && Input.TryDequeue(out byte value))
        {
            destination[count++] = value;
        }

        return count;
    }

    public void Send(params byte[] bytes)
    {
        foreach (byte b in bytes)
        {
            Input.Enqueue(b);
        }
    }
}
