using Virt.Run.CommandLine;
using Xunit;

namespace Virt.Run.Tests;

public sealed class RunOptionsParserTests
{
    [Theory]
    [InlineData("256", 256UL << 20)]
    [InlineData("256M", 256UL << 20)]
    [InlineData("1G", 1UL << 30)]
    [InlineData("2g", 2UL << 30)]
    [InlineData("4096K", 4UL << 20)]
    [InlineData("512MB", 512UL << 20)]
    public void MemorySizesFollowQemu(string text, ulong bytes) => Assert.Equal(bytes, RunOptionsParser.ParseMemorySize(text));

    [Theory]
    [InlineData("0", "not a memory size")]
    [InlineData("abcM", "not a memory size")]
    [InlineData("12Q", "unknown size suffix")]
    [InlineData("512K", "less than the 1 MiB")]
    [InlineData("99999999T", "larger than")]
    public void BadMemorySizesAreRejected(string text, string message)
    {
        var e = Assert.Throws<RunOptionsException>(() => RunOptionsParser.ParseMemorySize(text));
        Assert.Contains(message, e.Message, StringComparison.Ordinal);
        Assert.StartsWith("-m:", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AcceptanceCommandLineParses()
    {
        RunOptions o = RunOptionsParser.Parse(["-m", "256M", "-nographic", "-kernel", "vmlinuz", "-initrd", "initramfs.cpio.gz", "-append", "console=ttyS0"]);
        Assert.Equal(256UL << 20, o.MemorySizeInBytes);
        Assert.False(o.Display);
        Assert.Equal(CharacterTargetKind.Stdio, o.Serial.Kind);
        Assert.Equal("vmlinuz", o.KernelPath);
        Assert.Equal("initramfs.cpio.gz", o.InitrdPath);
        Assert.Equal("console=ttyS0", o.Append);
    }

    [Fact]
    public void ExplicitSerialWinsOverNographic()
    {
        RunOptions o = RunOptionsParser.Parse(["-serial", "file:out.txt", "-nographic"]);
        Assert.Equal(new CharacterTarget(CharacterTargetKind.File, "out.txt"), o.Serial);
    }

    [Fact]
    public void DebugExitDeviceTakesQemuProperties()
    {
        RunOptions o = RunOptionsParser.Parse(["-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"]);
        Assert.Equal((ushort)0xF4, o.DebugExitPort);
        Assert.Equal(4, o.DebugExitSize);
        RunOptions d = RunOptionsParser.Parse(["-device", "isa-debug-exit"]);
        Assert.Equal((ushort)0x501, d.DebugExitPort);
        Assert.Equal(2, d.DebugExitSize);
    }

    [Theory]
    [InlineData(new[] { "-frobnicate" }, "unknown option '-frobnicate'")]
    [InlineData(new[] { "stray" }, "unexpected argument 'stray'")]
    [InlineData(new[] { "-m" }, "-m needs a value")]
    [InlineData(new[] { "-serial", "tcp:1234" }, "-serial: 'tcp:1234' is not a supported backend")]
    [InlineData(new[] { "-debugcon", "none" }, "-debugcon: 'none' is not a supported backend")]
    [InlineData(new[] { "-device", "e1000" }, "-device: 'e1000' is not a supported device")]
    [InlineData(new[] { "-device", "isa-debug-exit,iobase=zz" }, "iobase: 'zz' is not a number")]
    [InlineData(new[] { "-device", "isa-debug-exit,iosize=3" }, "must be 1, 2 or 4")]
    [InlineData(new[] { "-device", "isa-debug-exit,colour=red" }, "unknown property 'colour'")]
    [InlineData(new[] { "-display", "gtk" }, "-display: 'gtk' is not supported")]
    [InlineData(new[] { "--timeout", "-5" }, "--timeout: '-5'")]
    [InlineData(new[] { "--max-instructions", "1e9" }, "--max-instructions: '1e9'")]
    [InlineData(new[] { "--log-level", "loud" }, "--log-level: 'loud'")]
    [InlineData(new[] { "-initrd", "x" }, "-initrd needs -kernel")]
    [InlineData(new[] { "-append", "x" }, "-append needs -kernel")]
    public void BadCommandLinesNameTheProblem(string[] args, string message)
    {
        var e = Assert.Throws<RunOptionsException>(() => RunOptionsParser.Parse(args));
        Assert.Contains(message, e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void VirtOptionsParse()
    {
        RunOptions o = RunOptionsParser.Parse(["--max-instructions", "1000", "--timeout", "2.5", "--deterministic", "--log-level", "Debug", "-no-reboot", "-cpu", "max"]);
        Assert.Equal(1000, o.MaxInstructions);
        Assert.Equal(TimeSpan.FromSeconds(2.5), o.Timeout);
        Assert.True(o.Deterministic);
        Assert.Equal("debug", o.LogLevel);
        Assert.True(o.NoReboot);
        Assert.Equal("max", o.CpuModel);
    }
}
