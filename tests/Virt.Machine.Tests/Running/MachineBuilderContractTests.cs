using Virt.Devices;
using Virt.Machine.Boot;
using Virt.Machine.Tests.Boot;
using Virt.Memory;
using Xunit;

namespace Virt.Machine.Tests.Running;

/// <summary>
/// <see cref="MachineBuilder.Build"/> throws only <see cref="MachineConfigurationException"/>, naming the option (and file
/// and field), keeps the cause as the inner exception, and disposes what it created before failing (issue 11).
/// </summary>
public sealed class MachineBuilderContractTests
{
    private static readonly byte[] s_haltCode = [0xFA, 0xF4]; // CLI; HLT

    [Fact]
    public void EmptyFlatBinaryIsRefusedNamingTheOptionAndField()
    {
        var e = Assert.Throws<MachineConfigurationException>(() => new MachineBuilder()
            .WithFlatBinary([], new PhysicalAddress(0x7C00), BootEntryState.RealMode(0, 0x7C00, "x"), "empty.bin")
            .Build());
        Assert.StartsWith("Flat binary:", e.Message, StringComparison.Ordinal);
        Assert.Equal(MachineSetting.FlatBinary, e.Setting);
        Assert.Contains("empty.bin", e.Message, StringComparison.Ordinal);
        Assert.Contains("file size", e.Message, StringComparison.Ordinal);
        Assert.IsType<BootImageException>(e.InnerException);
    }

    [Theory]
    [InlineData(0x7C00u, "overlaps")] // on top of the image
    [InlineData(0x30_0000u, "RAM")] // beyond the 2 MiB of RAM
    [InlineData(0xFFFF_FFF0u, "4 GiB")] // 32 bytes from FFFFFFF0h wrap past 4 GiB
    public void BootGdtThatCannotBePlacedIsRefused(uint gdtBase, string why)
    {
        var e = Assert.Throws<MachineConfigurationException>(() => new MachineBuilder()
            .WithMemorySize(2UL << 20)
            .WithFlatBinary(new byte[64], new PhysicalAddress(0x7C00), BootEntryState.FlatProtectedMode(0x7C00, "x", gdtBase), "pm.bin")
            .Build());
        Assert.StartsWith("Flat binary:", e.Message, StringComparison.Ordinal);
        Assert.Equal(MachineSetting.FlatBinary, e.Setting);
        Assert.Contains("boot GDT", e.Message, StringComparison.Ordinal);
        Assert.Contains(why, e.Message, StringComparison.Ordinal);
        Assert.IsType<BootImageException>(e.InnerException);
    }

    [Fact]
    public void UndefinedBootModeIsRefused()
    {
        BootEntryState entry = BootEntryState.RealMode(0, 0x7C00, "x") with { Mode = (BootCpuMode)99 };
        var e = Assert.Throws<MachineConfigurationException>(() => new MachineBuilder()
            .WithFlatBinary(s_haltCode, new PhysicalAddress(0x7C00), entry, "odd.bin")
            .Build());
        Assert.StartsWith("Flat binary:", e.Message, StringComparison.Ordinal);
        Assert.Equal(MachineSetting.FlatBinary, e.Setting);
        Assert.Contains("Mode 99", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void UndefinedResetBehaviorIsRefused()
    {
        var e = Assert.Throws<MachineConfigurationException>(() => new MachineBuilder().WithResetBehavior((ResetBehavior)7).Build());
        Assert.StartsWith("WithResetBehavior:", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void BadClockAndCpuOptionsAreRefusedNamingTheOption()
    {
        var e = Assert.Throws<MachineConfigurationException>(() => new MachineBuilder().WithClock(new VirtualClockOptions { InstructionsPerMicrosecond = 0 }).Build());
        Assert.StartsWith("WithClock:", e.Message, StringComparison.Ordinal);
        Assert.Contains("InstructionsPerMicrosecond", e.Message, StringComparison.Ordinal);

        e = Assert.Throws<MachineConfigurationException>(() => new MachineBuilder().WithClock(new VirtualClockOptions { Mode = (VirtualClockMode)5 }).Build());
        Assert.StartsWith("WithClock:", e.Message, StringComparison.Ordinal);

        e = Assert.Throws<MachineConfigurationException>(() => new MachineBuilder().WithCpu(new Virt.Cpu.CpuOptions { Cpuid = Virt.Cpu.CpuidModel.Default with { Vendor = "short" } }).Build());
        Assert.StartsWith("WithCpu:", e.Message, StringComparison.Ordinal);
        Assert.Contains("vendor", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("console=ttyS0\0quiet", "NUL")]
    [InlineData("console=ttyS0 caf\u00e9", "U+00E9")]
    public void CommandLineTheKernelCannotTakeIsRefusedUnderAppend(string commandLine, string why)
    {
        string path = WriteTemp(TestImages.BzImage());
        try
        {
            var e = Assert.Throws<MachineConfigurationException>(() => new MachineBuilder().WithKernel(path, commandLine: commandLine).Build());
            Assert.StartsWith("Kernel command line:", e.Message, StringComparison.Ordinal);
            Assert.Equal(MachineSetting.CommandLine, e.Setting);
            Assert.Contains(why, e.Message, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void CommandLineLongerThanTheKernelTakesIsRefusedUnderAppend()
    {
        string path = WriteTemp(TestImages.BzImage(cmdlineSize: 255));
        try
        {
            var e = Assert.Throws<MachineConfigurationException>(() => new MachineBuilder().WithKernel(path, commandLine: new string('a', 256)).Build());
            Assert.StartsWith("Kernel command line:", e.Message, StringComparison.Ordinal);
            Assert.Equal(MachineSetting.CommandLine, e.Setting);
            Assert.Contains("cmdline_size", e.Message, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void BzImageTruncatedToHalfItsSizeIsRefusedNamingSyssize()
    {
        byte[] kernel = TestImages.BzImage(payloadSize: 0x4000);
        string path = WriteTemp(kernel.AsSpan(0, kernel.Length / 2).ToArray());
        try
        {
            var e = Assert.Throws<MachineConfigurationException>(() => new MachineBuilder().WithKernel(path).Build());
            Assert.StartsWith("Kernel image:", e.Message, StringComparison.Ordinal);
            Assert.Equal(MachineSetting.Kernel, e.Setting);
            Assert.Contains("syssize", e.Message, StringComparison.Ordinal);
            Assert.Contains("truncated", e.Message, StringComparison.Ordinal);
            Assert.Equal("syssize", Assert.IsType<BootImageException>(e.InnerException).Field);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void MultibootElfEntryPointOutsideEverySegmentIsRefused()
    {
        byte[] kernel = TestImages.Elf32(0x50_0000, [new TestImages.Segment(0x10_0000, TestImages.Pattern(0x1000, 1), 0x1000)]);
        string path = WriteTemp(kernel);
        try
        {
            var e = Assert.Throws<MachineConfigurationException>(() => new MachineBuilder().WithKernel(path).Build());
            Assert.StartsWith("Kernel image:", e.Message, StringComparison.Ordinal);
            Assert.Equal(MachineSetting.Kernel, e.Setting);
            Assert.Contains("e_entry", e.Message, StringComparison.Ordinal);
            Assert.Contains("0x00500000", e.Message, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void MultibootAddressFieldsEntryPointOutsideTheImageIsRefused()
    {
        byte[] image = TestImages.Pattern(0x2000, 3);
        TestImages.MultibootHeader(0x1_0000, headerAddr: 0x10_0000, loadAddr: 0x10_0000, loadEndAddr: 0x10_1000, bssEndAddr: 0, entryAddr: 0x10_1000).CopyTo(image, 0);
        var e = Assert.Throws<BootImageException>(() => MultibootLoader.Load(new DiscardingMemory(), new MemoryStream(image), "kludge.bin", new MultibootOptions { MemoryMap = E820Map.CreatePc(16UL << 20) }));
        Assert.Equal("entry_addr", e.Field);

        // One byte lower is the image's last byte: accepted.
        TestImages.MultibootHeader(0x1_0000, headerAddr: 0x10_0000, loadAddr: 0x10_0000, loadEndAddr: 0x10_1000, bssEndAddr: 0, entryAddr: 0x10_0FFF).CopyTo(image, 0);
        MultibootLoader.Load(new DiscardingMemory(), new MemoryStream(image), "kludge.bin", new MultibootOptions { MemoryMap = E820Map.CreatePc(16UL << 20) });
    }

    [Theory]
    [InlineData(0)]
    [InlineData(3)]
    [InlineData(8)]
    public void DebugExitOfAWidthQemuDoesNotTakeIsRefused(int size)
    {
        var e = Assert.Throws<MachineConfigurationException>(() => new MachineBuilder().WithDebugExit(sizeInPorts: size).Build());
        Assert.StartsWith("WithDebugExit:", e.Message, StringComparison.Ordinal);
        Assert.Contains($"sizeInPorts {size}", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(4)]
    public void DebugExitOfQemusWidthsIsAccepted(int size)
    {
        using Machine machine = new MachineBuilder().WithDebugExit(sizeInPorts: size).Build();
        Assert.NotNull(machine.FindDevice<IsaDebugExit>());
    }

    [Fact]
    public void OneMebibyteOfMemoryBuildsAndRuns()
    {
        using Machine machine = new MachineBuilder()
            .WithMemorySize(MachineBuilder.MinimumMemorySizeInBytes)
            .WithFlatBinary(s_haltCode, new PhysicalAddress(0x7C00), BootEntryState.RealMode(0, 0x7C00, "x"))
            .Build();
        Assert.Equal(MachineStopKind.HaltedForGood, machine.Run(maxInstructions: 100).Kind);
    }

    [Fact]
    public void DuplicateCustomDeviceNamesAreRefused()
    {
        var first = new TrackedDevice("widget", 0x300);
        var e = Assert.Throws<MachineConfigurationException>(() => new MachineBuilder()
            .AddDevice(_ => first)
            .AddPortDevice("widget", 0x310, 1, _ => new NullPortDevice())
            .Build());
        Assert.StartsWith("AddPortDevice 'widget':", e.Message, StringComparison.Ordinal);
        Assert.Contains("already used", e.Message, StringComparison.Ordinal);
        Assert.True(first.Disposed);
    }

    [Fact]
    public void CustomDeviceNamedLikeABoardDeviceIsRefused()
    {
        var e = Assert.Throws<MachineConfigurationException>(() => new MachineBuilder()
            .WithSerialPort(0, new NullSerialBackend())
            .AddPortDevice("COM1", 0x300, 1, _ => new NullPortDevice())
            .Build());
        Assert.Contains("'COM1'", e.Message, StringComparison.Ordinal);
        Assert.Contains("the board", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void FailingDeviceFactoryIsNamedAndEarlierDevicesAreDisposed()
    {
        var first = new TrackedDevice("first", 0x300);
        var port = new TrackedPortDevice();
        var e = Assert.Throws<MachineConfigurationException>(() => new MachineBuilder()
            .AddDevice(_ => first)
            .AddPortDevice("scratch", 0x320, 1, _ => port)
            .AddMmioDevice("flaky", 0xFE00_0000, 0x1000, _ => throw new IOException("backing file vanished"))
            .Build());
        Assert.StartsWith("AddMmioDevice 'flaky':", e.Message, StringComparison.Ordinal);
        Assert.Contains("backing file vanished", e.Message, StringComparison.Ordinal);
        Assert.IsType<IOException>(e.InnerException);
        Assert.True(first.Disposed);
        Assert.True(port.Disposed);
    }

    [Fact]
    public void DeviceCreatedBeforeALayoutFailureIsDisposed()
    {
        var overlapping = new TrackedDevice("on-the-keyboard-port", 0x60);
        var e = Assert.Throws<MachineConfigurationException>(() => new MachineBuilder().AddDevice(_ => overlapping).Build());
        Assert.StartsWith("Device layout:", e.Message, StringComparison.Ordinal);
        Assert.IsType<InvalidOperationException>(e.InnerException);
        Assert.True(overlapping.Disposed);
    }

    [Fact]
    public void MachineDisposesTheDevicesTheFactoriesCreated()
    {
        var device = new TrackedDevice("mine", 0x300);
        var port = new TrackedPortDevice();
        Machine machine = new MachineBuilder().AddDevice(_ => device).AddPortDevice("scratch", 0x320, 1, _ => port).Build();
        Assert.False(device.Disposed);
        machine.Dispose();
        Assert.True(device.Disposed);
        Assert.True(port.Disposed);
    }

    private static string WriteTemp(byte[] bytes)
    {
        string path = Path.GetTempFileName();
        File.WriteAllBytes(path, bytes);
        return path;
    }

    /// <summary>A custom device with one port that records whether it was disposed.</summary>
    private sealed class TrackedDevice(string name, ushort port) : IPortMappedDevice, IDisposable
    {
        public string Name => name;

        public bool Disposed { get; private set; }

        public IReadOnlyList<PortBinding> PortBindings => [new PortBinding(name, port, 1, new NullPortDevice())];

        public void Reset()
        {
        }

        public void Dispose() => Disposed = true;
    }

    private sealed class TrackedPortDevice : IPortDevice, IDisposable
    {
        public bool Disposed { get; private set; }

        public AccessWidths SupportedWidths => AccessWidths.Byte;

        public uint Read(ushort offset, int sizeInBytes) => 0xFF;

        public void Write(ushort offset, int sizeInBytes, uint value)
        {
        }

        public void Dispose() => Disposed = true;
    }

    private sealed class DiscardingMemory : IGuestMemory
    {
        public void Read(PhysicalAddress address, Span<byte> destination) => destination.Clear();

        public void Write(PhysicalAddress address, ReadOnlySpan<byte> source)
        {
        }
    }
}
