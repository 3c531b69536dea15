using System.Net;
using Virt.Run.CommandLine;
using Xunit;

namespace Virt.Run.Tests;

/// <summary>The gdb stub options of <see cref="RunOptionsParser"/>: <c>-s</c>, <c>-gdb</c>, <c>-S</c>.</summary>
public sealed class RunOptionsParserGdbTests
{
    [Fact]
    public void DashSListensOnLoopbackPort1234()
    {
        RunOptions options = RunOptionsParser.Parse(["-s"]);
        Assert.Equal(new IPEndPoint(IPAddress.Loopback, 1234), options.GdbEndPoint);
        Assert.False(options.WaitForDebugger);
    }

    [Theory]
    [InlineData("tcp::4321", "127.0.0.1", 4321)]
    [InlineData("tcp:localhost:4321", "127.0.0.1", 4321)]
    [InlineData("tcp:0.0.0.0:1", "0.0.0.0", 1)]
    [InlineData("tcp:[::1]:65535", "::1", 65535)]
    public void GdbEndPointsParse(string text, string address, int port)
    {
        RunOptions options = RunOptionsParser.Parse(["-gdb", text, "-S"]);
        Assert.Equal(new IPEndPoint(IPAddress.Parse(address), port), options.GdbEndPoint);
        Assert.True(options.WaitForDebugger);
    }

    [Theory]
    [InlineData("tcp::0", "port number")]
    [InlineData("tcp::65536", "port number")]
    [InlineData("tcp::x", "port number")]
    [InlineData("udp::1234", "not supported")]
    [InlineData("1234", "not supported")]
    [InlineData("tcp:nohost.invalid:1234", "not an IP address")]
    public void BadGdbEndPointsAreRejectedWithTheOptionNamed(string text, string problem)
    {
        var e = Assert.Throws<RunOptionsException>(() => RunOptionsParser.Parse(["-gdb", text]));
        Assert.StartsWith("-gdb:", e.Message, StringComparison.Ordinal);
        Assert.Contains(problem, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void WaitingNeedsAStub()
    {
        var e = Assert.Throws<RunOptionsException>(() => RunOptionsParser.Parse(["-S"]));
        Assert.Contains("-S needs -s or -gdb", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--max-guest-time 1", "--max-guest-time cannot be combined with -s or -gdb")]
    [InlineData("--save-snapshot x.snap --snapshot-at 1000", "--save-snapshot cannot be combined with -s or -gdb")]
    public void OptionsTheStubCannotHonourAreRejected(string options, string message)
    {
        var e = Assert.Throws<RunOptionsException>(() => RunOptionsParser.Parse(["-s", .. options.Split(' ')]));
        Assert.Contains(message, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void HelpDocumentsTheGdbOptions()
    {
        Assert.Contains("-gdb tcp::PORT", RunOptionsParser.HelpText, StringComparison.Ordinal);
        Assert.Contains("-S ", RunOptionsParser.HelpText, StringComparison.Ordinal);
        Assert.Contains("-s ", RunOptionsParser.HelpText, StringComparison.Ordinal);
    }
}
