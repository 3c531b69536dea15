using FsCheck.Xunit;
using Virt.Devices.Tests.Fakes;
using Xunit;

namespace Virt.Devices.Tests.DebugDevices;

public sealed class DebugDevicesTests
{
    [Fact]
    public void DebugConsole_ReadReturnsE9_AndWritesReachTheSink()
    {
        var sink = new BufferCharacterSink();
        var console = new DebugConsole(sink);
        Assert.Equal(0xE9u, console.Read(0, 1));
        foreach (char c in "hi\n")
        {
            console.Write(0, 1, c);
        }

        Assert.Equal("hi\n", sink.GetText());
        Assert.Equal(3, console.BytesWritten);
        Assert.Equal((ushort)0xE9, console.PortBindings[0].FirstPort);
    }

    [Fact]
    public void TextWriterSink_DecodesUtf8SplitAcrossWrites()
    {
        var writer = new StringWriter();
        var console = new DebugConsole(new TextWriterCharacterSink(writer));
        foreach (byte b in "é✓"u8)
        {
            console.Write(0, 1, b);
        }

        Assert.Equal("é✓", writer.ToString());
    }

    [Theory]
    [InlineData(1, 0x00u, 1)]       // v = 0 gives exit code 1
    [InlineData(1, 0x10u, 0x21)]    // (0x10 << 1) | 1
    [InlineData(1, 0x1FFu, 0x1FF)]  // a byte write carries only the low byte: (0xFF << 1) | 1
    [InlineData(2, 0x1234u, 0x2469)]
    [InlineData(4, 0x40000000u, unchecked((int)0x80000001))]
    public void IsaDebugExit_WriteRequestsExitWithShiftedCode(int size, uint value, int expected)
    {
        var platform = new RecordingPlatformControl();
        var exit = new IsaDebugExit(platform);
        exit.Write(0, size, value);
        Assert.Equal(expected, Assert.Single(platform.ExitRequests).ExitCode);
        Assert.Equal(0u, exit.Read(1, 1));
    }

    [Fact]
    public void IsaDebugExit_BaseAndSizeAreConfigurable()
    {
        var exit = new IsaDebugExit(new RecordingPlatformControl(), new IsaDebugExitOptions { BasePort = 0xF4, SizeInPorts = 4 });
        PortBinding binding = Assert.Single(exit.PortBindings);
        Assert.Equal((ushort)0xF4, binding.FirstPort);
        Assert.Equal(4, binding.Count);
        Assert.Throws<ArgumentOutOfRangeException>(() => new IsaDebugExit(new RecordingPlatformControl(), new IsaDebugExitOptions { BasePort = 0xFFFF, SizeInPorts = 2 }));
    }

    [Fact]
    public void PostCodePort_CapturesLastValueHistoryAndEvents()
    {
        var clock = new ManualClock();
        var post = new PostCodePort(new PostCodePortOptions { HistoryCapacity = 3 }, clock);
        var events = new List<(byte, long)>();
        post.CodeWritten += (_, e) => events.Add((e.Code, e.GuestTimeNanoseconds));
        Assert.Null(post.LastCode);
        foreach (byte code in new byte[] { 1, 2, 3, 4 })
        {
            clock.Advance(10);
            post.Write(0, 1, code);
        }

        Assert.Equal((byte)4, post.LastCode);
        Assert.Equal(4u, post.Read(0, 1));
        Assert.Equal(new byte[] { 2, 3, 4 }, post.GetHistory());
        Assert.Equal([(1, 10), (2, 20), (3, 30), (4, 40)], events);
    }

    [Property(MaxTest = 50)]
    public void PostCodePort_StateRoundTrips(byte[] writes)
    {
        var post = new PostCodePort();
        foreach (byte b in writes)
        {
            post.Write(0, 1, b);
        }

        PostCodePortState saved = post.SaveState();
        var other = new PostCodePort();
        other.RestoreState(saved);
        Assert.Equal(saved, other.SaveState());
        Assert.Equal(post.Read(0, 1), other.Read(0, 1));
    }

    [Property(MaxTest = 20)]
    public void StatelessDebugDevices_RoundTripAfterAnyWrites(byte[] writes)
    {
        var console = new DebugConsole(new NullCharacterSink());
        var exit = new IsaDebugExit(new RecordingPlatformControl());
        foreach (byte b in writes)
        {
            console.Write(0, 1, b);
            exit.Write((ushort)(b & 1), 1, b);
        }

        var console2 = new DebugConsole(new NullCharacterSink());
        console2.RestoreState(console.SaveState());
        Assert.Equal(console.SaveState(), console2.SaveState());
        var exit2 = new IsaDebugExit(new RecordingPlatformControl());
        exit2.RestoreState(exit.SaveState());
        Assert.Equal(exit.SaveState(), exit2.SaveState());
    }

    [Fact]
    public void StatelessDebugDevices_RoundTripAndRejectOtherVersions()
    {
        var console = new DebugConsole(new NullCharacterSink());
        console.RestoreState(console.SaveState());
        Assert.Equal(console.SaveState(), new DebugConsole(new NullCharacterSink()).SaveState());
        Assert.Throws<ArgumentException>(() => console.RestoreState(new DebugConsoleState(99)));
        var exit = new IsaDebugExit(new RecordingPlatformControl());
        exit.RestoreState(exit.SaveState());
        Assert.Throws<ArgumentException>(() => exit.RestoreState(new IsaDebugExitState(0)));
    }
}
