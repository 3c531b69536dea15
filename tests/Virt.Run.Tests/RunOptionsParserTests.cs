using Virt.Run.CommandLine;
using Xunit;

namespace Virt.Run.Tests;

public sealed class RunOptionsParserTests
{
    [Theory]
    [InlineData("256", 256UL << 20)]
    [InlineData("2048", 2048UL << 20)]
    [InlineData("256M", 256UL << 20)]
    [InlineData("512m", 512UL << 20)]
    [InlineData("1G", 1UL << 30)]
    [InlineData("2g", 2UL << 30)]
    [InlineData("1.5G", 3UL << 29)]
    [InlineData("0.5g", 1UL << 29)]
    [InlineData("4096K", 4UL << 20)]
    [InlineData("4096KB", 4UL << 20)]
    [InlineData("512MB", 512UL << 20)]
    [InlineData("1T", 1UL << 40)]
    [InlineData("1048576B", 1UL << 20)]
    [InlineData("size=64M", 64UL << 20)]
    public void MemorySizesFollowQemu(string text, ulong bytes) => Assert.Equal(bytes, RunOptionsParser.ParseMemorySize(text));

    [Theory]
    [InlineData("0", "is zero")]
    [InlineData("0.0G", "is zero")]
    [InlineData("-5", "is negative")]
    [InlineData("-1G", "is negative")]
    [InlineData("abcM", "is not a number")]
    [InlineData("1.2.3M", "is not a number")]
    [InlineData("M", "is not a number")]
    [InlineData("12Q", "has an unknown size suffix")]
    [InlineData("12BB", "has an unknown size suffix")]
    [InlineData("512K", "is less than 1 MiB")]
    [InlineData("1025K", "is not a multiple of 4 KiB")]
    [InlineData("1.1M", "is not a multiple of 4 KiB")]
    [InlineData("2T", "is more than 1 TiB")]
    [InlineData("99999G", "is more than 1 TiB")]
    [InlineData("99999999999999999999999999999999T", "is too large")]
    public void BadMemorySizesAreRejectedWithOneMessageNamingTheLimits(string text, string problem)
    {
        var e = Assert.Throws<RunOptionsException>(() => RunOptionsParser.ParseMemorySize(text));
        Assert.StartsWith($"-m: '{text}' {problem}", e.Message, StringComparison.Ordinal);
        Assert.EndsWith("guest RAM must be a multiple of 4 KiB from 1 MiB to 1 TiB (for example 2048, 512M or 1.5G)", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void MemoryLimitsAreTheBuildersOwn()
    {
        // One number for the library and the command line: the largest size the builder takes parses, one page more does not.
        Assert.Equal(Virt.Machine.MachineBuilder.MaximumMemorySizeInBytes, RunOptionsParser.ParseMemorySize($"{Virt.Machine.MachineBuilder.MaximumMemorySizeInBytes}B"));
        Assert.Throws<RunOptionsException>(() => RunOptionsParser.ParseMemorySize($"{Virt.Machine.MachineBuilder.MaximumMemorySizeInBytes + 4096}B"));
        Assert.Equal(Virt.Machine.MachineBuilder.MinimumMemorySizeInBytes, RunOptionsParser.ParseMemorySize($"{Virt.Machine.MachineBuilder.MinimumMemorySizeInBytes}B"));
        Assert.Throws<RunOptionsException>(() => RunOptionsParser.ParseMemorySize($"{Virt.Machine.MachineBuilder.MinimumMemorySizeInBytes - 4096}B"));
    }

    [Theory]
    [InlineData(1UL << 40, "1 TiB")]
    [InlineData(1UL << 20, "1 MiB")]
    [InlineData(3UL << 29, "1536 MiB")]
    [InlineData(4096UL, "4 KiB")]
    [InlineData(1000UL, "1000 bytes")]
    public void SizesAreFormattedInTheLargestExactUnit(ulong bytes, string text) => Assert.Equal(text, RunOptionsParser.FormatSize(bytes));

    [Fact]
    public void TraceItemsCombine()
    {
        RunOptions o = RunOptionsParser.Parse(["-d", "int,ioport", "-d", "cpu_reset"]);
        Assert.Equal(Virt.Machine.MachineTraceEvents.Interrupts | Virt.Machine.MachineTraceEvents.PortIo | Virt.Machine.MachineTraceEvents.Resets, o.Trace);
        Assert.Equal(Virt.Machine.MachineTraceEvents.All, RunOptionsParser.Parse(["-d", "int,ioport,reset,pci,apic"]).Trace);
        Assert.False(o.ShowTraceHelp);
        Assert.True(RunOptionsParser.Parse(["-d", "help"]).ShowTraceHelp);
        Assert.Equal(Virt.Machine.MachineTraceEvents.None, RunOptionsParser.Parse([]).Trace);
    }

    [Theory]
    [InlineData("pc")]
    [InlineData("isapc")]
    [InlineData("type=pc")]
    public void MachineTypesParse(string value)
    {
        RunOptions o = RunOptionsParser.Parse(["-M", value]);
        Assert.Equal(value.Replace("type=", string.Empty, StringComparison.Ordinal), o.MachineType);
        Assert.Equal(o.MachineType, RunOptionsParser.Parse(["-machine", value]).MachineType);
        Assert.Null(RunOptionsParser.Parse([]).MachineType);
    }

    [Theory]
    [InlineData("q35", "'q35' is not a supported machine (supported: pc, isapc")]
    [InlineData("pc,accel=kvm", "machine properties ('accel=kvm') are not supported")]
    public void OtherMachinesAreRefusedClearly(string value, string message)
    {
        RunOptionsException e = Assert.Throws<RunOptionsException>(() => RunOptionsParser.Parse(["-M", value]));
        Assert.Contains(message, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void NoAcpiParses()
    {
        Assert.True(RunOptionsParser.Parse(["-no-acpi"]).NoAcpi);
        Assert.False(RunOptionsParser.Parse([]).NoAcpi);
    }

    [Fact]
    public void ApicAndHpetParse()
    {
        RunOptions o = RunOptionsParser.Parse(["--apic", "--hpet", "-d", "apic"]);
        Assert.True(o.Apic);
        Assert.True(o.Hpet);
        Assert.Equal(Virt.Machine.MachineTraceEvents.Apic, o.Trace);
        Assert.False(RunOptionsParser.Parse([]).Apic);
        Assert.False(RunOptionsParser.Parse([]).Hpet);
        Assert.Contains("--apic", RunOptionsParser.HelpText, StringComparison.Ordinal);
        Assert.Contains("--hpet", RunOptionsParser.HelpText, StringComparison.Ordinal);
    }

    [Fact]
    public void AllowResetLoopParses()
    {
        Assert.True(RunOptionsParser.Parse(["--allow-reset-loop"]).AllowResetLoop);
        Assert.False(RunOptionsParser.Parse([]).AllowResetLoop);
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

    [Fact]
    public void DebugconDeviceMovesTheDebugconPort()
    {
        Assert.Equal((ushort)0xE9, RunOptionsParser.Parse(["-debugcon", "stdio"]).DebugConsolePort);
        RunOptions o = RunOptionsParser.Parse(["-debugcon", "stdio", "-device", "isa-debugcon,iobase=0x402"]);
        Assert.Equal((ushort)0x402, o.DebugConsolePort);
    }

    [Fact]
    public void NographicIsNotTheSameAsDisplayNone()
    {
        // Only -nographic takes graphics away altogether (QEMU's graphics=off), which is when SeaBIOS gets a serial console.
        Assert.True(RunOptionsParser.Parse(["-nographic"]).NoGraphic);
        RunOptions none = RunOptionsParser.Parse(["-display", "none"]);
        Assert.False(none.NoGraphic);
        Assert.False(none.Display);
    }

    [Theory]
    [InlineData(new[] { "-frobnicate" }, "unknown option '-frobnicate'")]
    [InlineData(new[] { "-device", "isa-debugcon,iobase=0x10000" }, "is beyond port 0xFFFF")]
    [InlineData(new[] { "-device", "isa-debugcon,chardev=x" }, "unknown property 'chardev'")]
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
    [InlineData(new[] { "--max-guest-time", "0" }, "--max-guest-time: '0'")]
    [InlineData(new[] { "--max-instructions", "1e9" }, "--max-instructions: '1e9'")]
    [InlineData(new[] { "--log-level", "loud" }, "--log-level: 'loud'")]
    [InlineData(new[] { "-d", "int,bogus" }, "-d: 'bogus' is not a trace item")]
    [InlineData(new[] { "-d", "" }, "-d: '' is not a trace item")]
    [InlineData(new[] { "-m", "2T" }, "-m: '2T' is more than 1 TiB")]
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
        RunOptions o = RunOptionsParser.Parse(["--max-instructions", "1000", "--timeout", "2.5", "--max-guest-time", "0.25", "--deterministic", "--log-level", "Debug", "-no-reboot", "-cpu", "max"]);
        Assert.Equal(1000, o.MaxInstructions);
        Assert.Equal(TimeSpan.FromSeconds(2.5), o.Timeout);
        Assert.Equal(TimeSpan.FromMilliseconds(250), o.MaxGuestTime);
        Assert.True(o.Deterministic);
        Assert.Equal("debug", o.LogLevel);
        Assert.True(o.NoReboot);
        Assert.Equal("max", o.CpuModel);
    }
}
