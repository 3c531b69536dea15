using System.Buffers;
using System.IO.Pipelines;
using Virt.Devices.Tests.Fakes;
using Xunit;

namespace Virt.Devices.Tests.Backends;

public sealed class SerialNoLossTests
{
    private const int OneMebibyte = 1 << 20;

    [Theory]
    [InlineData(1, 1, false)]  // guest and host both eager
    [InlineData(7, 1, false)]  // guest reads slower than the host writes
    [InlineData(1, 7, true)]   // host reads slower than the guest writes
    public async Task OneMebibyteEachWay_ArrivesComplete(int guestReadEvery, int guestWriteEvery, bool slowHostReader)
    {
        byte[] toGuest = Pattern(OneMebibyte, seed: 1);
        byte[] fromGuest = Pattern(OneMebibyte, seed: 2);
        var clock = new ManualClock();
        using var backend = new PipeSerialBackend(new PipeOptions(pauseWriterThreshold: 4096, resumeWriterThreshold: 2048));
        var uart = new Virt.Devices.Uart16550(UartOptions.Com1, new RecordingInterruptLine(), clock, backend);
        IDuplexPipe host = backend.HostConnection!;

        Task writer = Task.Run(async () =>
        {
            for (int offset = 0; offset < toGuest.Length; offset += 3000)
            {
                int count = Math.Min(3000, toGuest.Length - offset);
                await host.Output.WriteAsync(toGuest.AsMemory(offset, count));
            }

            await host.Output.CompleteAsync();
        });

        Task<byte[]> reader = Task.Run(async () =>
        {
            var received = new ArrayBufferWriter<byte>(OneMebibyte);
            int reads = 0;
            while (received.WrittenCount < OneMebibyte)
            {
                ReadResult result = await host.Input.ReadAsync();
                foreach (ReadOnlyMemory<byte> segment in result.Buffer)
                {
                    received.Write(segment.Span);
                }

                host.Input.AdvanceTo(result.Buffer.End);
                if (slowHostReader && ++reads % 512 == 0)
                {
                    await Task.Delay(1);
                }

                if (result.IsCompleted)
                {
                    break;
                }
            }

            return received.WrittenSpan.ToArray();
        });

        // The fake guest driver: polls LSR, reads RBR on DR, fills the FIFO on THRE (FIFO mode, 8N1, no interrupts).
        uart.Write(3, 1, 0x03);
        uart.Write(2, 1, 0x07);
        var guestReceived = new byte[OneMebibyte];
        int receivedCount = 0;
        int sentCount = 0;
        long iteration = 0;
        DateTime deadline = DateTime.UtcNow.AddSeconds(90);
        while (receivedCount < OneMebibyte || sentCount < OneMebibyte)
        {
            Assert.True(DateTime.UtcNow < deadline, $"stalled: guest received {receivedCount}, sent {sentCount}");
            iteration++;
            byte lsr = (byte)uart.Read(5, 1);
            if ((lsr & 0x01) != 0 && iteration % guestReadEvery == 0)
            {
                guestReceived[receivedCount++] = (byte)uart.Read(0, 1);
            }

            if ((lsr & 0x20) != 0 && sentCount < OneMebibyte && iteration % guestWriteEvery == 0)
            {
                for (int i = 0; i < 16 && sentCount < OneMebibyte; i++)
                {
                    uart.Write(0, 1, fromGuest[sentCount++]);
                }
            }

            if ((iteration & 0xFFF) == 0)
            {
                clock.Advance(1_000_000);
            }
            else if ((lsr & 0x21) == 0)
            {
                Thread.Yield();
            }
        }

        // Drain what is still in the transmitter while the host catches up.
        while (((byte)uart.Read(5, 1) & 0x40) == 0)
        {
            Assert.True(DateTime.UtcNow < deadline, "transmitter never drained");
            clock.Advance(1_000_000);
            Thread.Yield();
        }

        backend.Dispose();
        await writer;
        byte[] hostReceived = await reader;
        Assert.Equal(toGuest, guestReceived);
        Assert.Equal(fromGuest.Length, hostReceived.Length);
        Assert.True(fromGuest.AsSpan().SequenceEqual(hostReceived));
    }

    [Fact]
    public async Task StreamBackend_CarriesBytesBothWays()
    {
        var input = new MemoryStream("hello"u8.ToArray());
        var output = new MemoryStream();
        var clock = new ManualClock();
        byte[] got = new byte[5];
        await using (var backend = new StreamSerialBackend(input, output, leaveOpen: true))
        {
            var uart = new Virt.Devices.Uart16550(UartOptions.Com1, new RecordingInterruptLine(), clock, backend);
            int count = 0;
            DateTime deadline = DateTime.UtcNow.AddSeconds(10);
            while (count < 5 && DateTime.UtcNow < deadline)
            {
                if ((uart.Read(5, 1) & 1) != 0)
                {
                    got[count++] = (byte)uart.Read(0, 1);
                }
                else
                {
                    await Task.Delay(1);
                }
            }

            foreach (byte b in "world"u8)
            {
                uart.Write(0, 1, b);
            }
        }

        Assert.Equal("hello"u8.ToArray(), got);
        Assert.Equal("world"u8.ToArray(), output.ToArray());
    }

    [Fact]
    public void CharacterSinkBackend_CapturesGuestOutput()
    {
        var sink = new BufferCharacterSink();
        var uart = new Virt.Devices.Uart16550(UartOptions.Com1, new RecordingInterruptLine(), new ManualClock(), new CharacterSinkSerialBackend(sink));
        foreach (byte b in "boot ok\n"u8)
        {
            uart.Write(0, 1, b);
        }

        Assert.Equal("boot ok\n", sink.GetText());
        Assert.Equal(0u, uart.Read(5, 1) & 1);
    }

    [Fact]
    public void NullBackend_TakesEverythingGivesNothing()
    {
        var backend = new NullSerialBackend();
        Assert.True(backend.TryTransmit(1));
        Assert.Equal(0, backend.TryReceive(new byte[4]));
    }

    private static byte[] Pattern(int length, int seed)
    {
        var random = new Random(seed);
        byte[] data = new byte[length];
        random.NextBytes(data);
        return data;
    }
}
