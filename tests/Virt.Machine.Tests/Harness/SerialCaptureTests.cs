using Xunit;

namespace Virt.Machine.Tests.Harness;

/// <summary>SerialCapture: the async streams and the byte budget.</summary>
public sealed class SerialCaptureTests
{
    [Fact]
    public async Task TheStreamsYieldWhatTheGuestPrintedAndEndWithTheMachine()
    {
        Machine machine = HarnessGuests.Build(HarnessGuests.Image("booting...\r\nREADY\nno line end", HarnessGuests.Tail.Halt));
        SerialCapture capture = machine.GetSerialCapture(0);
        Task<List<string>> lines = Collect(capture.ReadLinesAsync());
        Task<List<string>> chunks = Collect(capture.ReadChunksAsync());

        Assert.Equal(MachineStopKind.HaltedForGood, machine.Run(10_000_000).Kind);
        machine.Dispose();

        Assert.Equal(["booting...", "READY", "no line end"], await lines);
        Assert.Equal("booting...\r\nREADY\nno line end", string.Concat(await chunks));
        Assert.True(capture.IsCompleted);
    }

    [Fact]
    public async Task AStreamStartedLateBeginsWithTheOldestByteKept()
    {
        Machine machine = HarnessGuests.Build(HarnessGuests.Image("one\ntwo\n", HarnessGuests.Tail.Halt));
        machine.Run(10_000_000);
        machine.Dispose();

        List<string> lines = await Collect(machine.GetSerialCapture(0).ReadLinesAsync());

        Assert.Equal(["one", "two"], lines);
    }

    [Fact]
    public async Task CancellationEndsAStreamThatWaits()
    {
        using Machine machine = HarnessGuests.Build(HarnessGuests.Image("x", HarnessGuests.Tail.Loop));
        using var cancellation = new CancellationTokenSource(TimeSpan.FromMilliseconds(50));

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Collect(machine.GetSerialCapture(0).ReadChunksAsync(cancellation.Token)));
    }

    [Theory]
    [InlineData(SerialCapture.MinimumCapacityInBytes)]
    [InlineData(10_000)] // past the first buffer size and not a power of two: the buffer grows, then wraps
    public void AGuestPrintingForeverStaysWithinTheByteBudget(int capacity)
    {
        const string message = "0123456789\n";
        using Machine machine = HarnessGuests.Build(HarnessGuests.Image(message, HarnessGuests.Tail.Repeat), capacity);
        SerialCapture capture = machine.GetSerialCapture(0);

        Assert.Equal(MachineStopKind.BudgetExhausted, machine.Run(2_000_000).Kind);

        Assert.Equal(capacity, capture.CapacityInBytes);
        Assert.True(capture.TotalBytes > 2 * capacity, $"{capture.TotalBytes} bytes printed");
        Assert.Equal(capacity, capture.Count);
        Assert.Equal(capture.TotalBytes - capacity, capture.DroppedBytes);

        // What is kept is the newest output: the message's cycle, ending where the guest's output ends.
        string text = capture.GetText();
        Assert.Equal(capacity, text.Length);
        long end = capture.TotalBytes;
        for (int i = 0; i < text.Length; i++)
        {
            Assert.Equal(message[(int)((end - capacity + i) % message.Length)], text[i]);
        }
    }

    [Fact]
    public async Task ALineLongerThanTheBudgetComesInPieces()
    {
        var capture = new SerialCapture(SerialCapture.MinimumCapacityInBytes);
        for (int i = 0; i < 600; i++)
        {
            Assert.True(capture.TryTransmit((byte)'a'));
        }

        capture.Complete();
        List<string> lines = await Collect(capture.ReadLinesAsync());

        Assert.All(lines, line => Assert.InRange(line.Length, 1, SerialCapture.MinimumCapacityInBytes));
        Assert.Equal(SerialCapture.MinimumCapacityInBytes, lines.Sum(l => l.Length));
    }

    private static async Task<List<string>> Collect(IAsyncEnumerable<string> items)
    {
        var list = new List<string>();
        await foreach (string item in items)
        {
            list.Add(item);
        }

        return list;
    }
}
