using Virt.Devices;
using Virt.Machine.Boot;
using Virt.Machine.Tests.Running;
using Virt.Memory;
using Xunit;

namespace Virt.Machine.Tests.Snapshots;

/// <summary><see cref="Machine.Fork"/>: an independent machine that shares RAM with its parent copy-on-write.</summary>
public sealed class MachineForkTests
{
    /// <summary>Instructions that run the guest to its end (200 rounds) from anywhere.</summary>
    private const long ToTheEnd = 20_000_000;

    /// <summary>The guest's whole output: one letter a round.</summary>
    private static string FullOutput => string.Concat(Enumerable.Range(0, SnapshotGuest.Rounds).Select(i => (char)('a' + (i % 26))));

    private static ForkOptions SerialTo(BufferCharacterSink sink) =>
        new() { SerialBackends = new Dictionary<int, ISerialBackend> { [0] = new CharacterSinkSerialBackend(sink) } };

    [Fact]
    public void AForkRunsExactlyAsItsParentFromTheForkPoint()
    {
        var parentSerial = new BufferCharacterSink();
        using Machine parent = SnapshotGuest.Builder(parentSerial).Build();
        parent.Run(maxInstructions: 200_000);
        int printed = parentSerial.GetText().Length;

        var childSerial = new BufferCharacterSink();
        using Machine child = parent.Fork(SerialTo(childSerial));
        Assert.Equal(SnapshotGuest.CpuText(parent), SnapshotGuest.CpuText(child));
        Assert.Equal(SnapshotGuest.RamHash(parent), SnapshotGuest.RamHash(child));

        foreach (long n in new long[] { 1, 12_345, 300_000 })
        {
            parent.Run(maxInstructions: n);
            child.Run(maxInstructions: n);
            Assert.Equal(parentSerial.GetText()[printed..], childSerial.GetText());
            Assert.Equal(SnapshotGuest.CpuText(parent), SnapshotGuest.CpuText(child));
            Assert.Equal(SnapshotGuest.RamHash(parent), SnapshotGuest.RamHash(child));
            Assert.Equal(parent.Clock.NowNanoseconds, child.Clock.NowNanoseconds);
        }

        Assert.NotEmpty(childSerial.GetText());
        Assert.Equal(SnapshotGuest.Snapshot(parent), SnapshotGuest.Snapshot(child));
    }

    [Fact]
    public void AForkOfThePcBoardKeepsItsChipsetApicFirmwareConfigAndAcpi()
    {
        var parentSerial = new BufferCharacterSink();
        using Machine parent = SnapshotGuest.Builder(parentSerial)
            .WithPciBus()
            .WithApic()
            .WithHpet()
            .WithFirmwareConfig()
            .WithAcpi()
            .Build();
        parent.Run(maxInstructions: 200_000);
        int printed = parentSerial.GetText().Length;

        var childSerial = new BufferCharacterSink();
        using Machine child = parent.Fork(SerialTo(childSerial));
        Assert.Equal(
            parent.Devices.Select(d => d.Name).Order(StringComparer.Ordinal),
            child.Devices.Select(d => d.Name).Order(StringComparer.Ordinal));
        parent.Run(maxInstructions: 300_000);
        child.Run(maxInstructions: 300_000);
        Assert.NotEmpty(childSerial.GetText());
        Assert.Equal(parentSerial.GetText()[printed..], childSerial.GetText());
        Assert.Equal(SnapshotGuest.RamHash(parent), SnapshotGuest.RamHash(child));
        Assert.Equal(SnapshotGuest.Snapshot(parent), SnapshotGuest.Snapshot(child));
    }

    [Fact]
    public void TheGuestsWritesOnEitherSideAreInvisibleToTheOther()
    {
        using Machine parent = SnapshotGuest.Builder(new BufferCharacterSink()).Build();
        parent.Run(maxInstructions: 200_000);   // the CPU's TLB now holds write pointers into the guest's buffer
        string atFork = SnapshotGuest.RamHash(parent);
        using Machine child = parent.Fork();

        child.Run(maxInstructions: 300_000);
        string childAfter = SnapshotGuest.RamHash(child);
        Assert.NotEqual(atFork, childAfter);
        Assert.Equal(atFork, SnapshotGuest.RamHash(parent));

        parent.Run(maxInstructions: 100_000);
        Assert.NotEqual(atFork, SnapshotGuest.RamHash(parent));
        Assert.Equal(childAfter, SnapshotGuest.RamHash(child));
        Assert.True(child.Memory.CopiedOnWritePageCount > 0);
    }

    [Fact]
    public void HostWritesOnEitherSideAreInvisibleToTheOther()
    {
        using Machine parent = SnapshotGuest.Builder(new BufferCharacterSink()).Build();
        parent.Run(maxInstructions: 50_000);
        using Machine child = parent.Fork();
        parent.Memory.WriteByte(new PhysicalAddress(0x20_0000), 0xAA);
        child.Memory.WriteByte(new PhysicalAddress(0x30_0000), 0xBB);
        child.Memory.WriteByte(new PhysicalAddress(0x7C00), 0xCC);    // the guest's code page, shared until now
        Assert.Equal(0, child.Memory.ReadByte(new PhysicalAddress(0x20_0000)));
        Assert.Equal(0, parent.Memory.ReadByte(new PhysicalAddress(0x30_0000)));
        Assert.Equal(SnapshotGuest.Image[0], parent.Memory.ReadByte(new PhysicalAddress(0x7C00)));
    }

    [Fact]
    public async Task ParentAndForkRunOnTwoThreadsEachToItsOwnOutput()
    {
        var parentSerial = new BufferCharacterSink();
        using Machine parent = SnapshotGuest.Builder(parentSerial).Build();
        parent.Run(maxInstructions: 300_000);
        string before = parentSerial.GetText();
        var childSerial = new BufferCharacterSink();
        using Machine child = parent.Fork(SerialTo(childSerial));

        MachineStopReason[] stops = await Task.WhenAll(
            Task.Run(() => parent.Run(maxInstructions: ToTheEnd)),
            Task.Run(() => child.Run(maxInstructions: ToTheEnd)));
        Assert.All(stops, s => Assert.Equal(MachineStopKind.HaltedForGood, s.Kind));
        Assert.Equal(FullOutput, parentSerial.GetText());
        Assert.Equal(FullOutput, before + childSerial.GetText());
        Assert.Equal(SnapshotGuest.RamHash(parent), SnapshotGuest.RamHash(child));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void EitherMayBeDisposedFirstAndTheOtherRunsOn(bool disposeParentFirst)
    {
        var parentSerial = new BufferCharacterSink();
        Machine parent = SnapshotGuest.Builder(parentSerial).Build();
        parent.Run(maxInstructions: 300_000);
        string before = parentSerial.GetText();
        var childSerial = new BufferCharacterSink();
        Machine child = parent.Fork(SerialTo(childSerial));
        Assert.True(child.Memory.SharedRamBytes > 0);

        (Machine gone, Machine survivor, BufferCharacterSink serial, string prefix) = disposeParentFirst
            ? (parent, child, childSerial, before)
            : (child, parent, parentSerial, string.Empty);
        gone.Dispose();
        Assert.Throws<ObjectDisposedException>(() => gone.Fork());
        Assert.Equal(0, survivor.Memory.SharedRamBytes);   // the survivor is the last holder of every chunk

        Assert.Equal(MachineStopKind.HaltedForGood, survivor.Run(maxInstructions: ToTheEnd).Kind);
        Assert.Equal(FullOutput, prefix + serial.GetText());
        Assert.Equal(0, survivor.Memory.CopiedOnWritePageCount);
        survivor.Dispose();
    }

    [Fact]
    public void AForkOfAForkRunsAsItsLineWould()
    {
        var aSerial = new BufferCharacterSink();
        using Machine a = SnapshotGuest.Builder(aSerial).Build();
        a.Run(maxInstructions: 150_000);
        string aBefore = aSerial.GetText();
        var bSerial = new BufferCharacterSink();
        using Machine b = a.Fork(SerialTo(bSerial));
        b.Run(maxInstructions: 250_000);
        string bBefore = bSerial.GetText();
        var cSerial = new BufferCharacterSink();
        using Machine c = b.Fork(SerialTo(cSerial));

        // The grandchild shares pages with both: writes of each stay with it.
        c.Memory.WriteByte(new PhysicalAddress(0x20_0000), 0xC0);
        Assert.Equal(0, a.Memory.ReadByte(new PhysicalAddress(0x20_0000)));
        Assert.Equal(0, b.Memory.ReadByte(new PhysicalAddress(0x20_0000)));
        c.Memory.WriteByte(new PhysicalAddress(0x20_0000), 0);

        foreach (Machine m in new[] { a, b, c })
        {
            Assert.Equal(MachineStopKind.HaltedForGood, m.Run(maxInstructions: ToTheEnd).Kind);
        }

        Assert.Equal(FullOutput, aSerial.GetText());
        Assert.Equal(FullOutput, aBefore + bSerial.GetText());
        Assert.Equal(FullOutput, aBefore + bBefore + cSerial.GetText());
        Assert.Equal(SnapshotGuest.RamHash(a), SnapshotGuest.RamHash(c));
    }

    [Fact]
    public void ForksAndCheckpointsWorkTogether()
    {
        var parentSerial = new BufferCharacterSink();
        using Machine parent = SnapshotGuest.Builder(parentSerial).Build();
        parent.Run(maxInstructions: 100_000);
        MachineCheckpoint checkpoint = parent.Checkpoint();
        string ramAtCheckpoint = SnapshotGuest.RamHash(parent);
        parent.Run(maxInstructions: 100_000);

        // Fork after the checkpoint: the parent's rewind is its own business.
        using Machine child = parent.Fork();
        string ramAtFork = SnapshotGuest.RamHash(child);
        Assert.True(parent.Rewind(checkpoint) > 0);
        Assert.Equal(ramAtCheckpoint, SnapshotGuest.RamHash(parent));
        Assert.Equal(ramAtFork, SnapshotGuest.RamHash(child));

        // The fork takes its own checkpoint and rewinds to it; the parent is untouched.
        MachineCheckpoint childCheckpoint = child.Checkpoint();
        string childCpu = SnapshotGuest.CpuText(child);
        child.Run(maxInstructions: 200_000);
        Assert.NotEqual(ramAtFork, SnapshotGuest.RamHash(child));
        child.Rewind(childCheckpoint);
        Assert.Equal(ramAtFork, SnapshotGuest.RamHash(child));
        Assert.Equal(childCpu, SnapshotGuest.CpuText(child));
        Assert.Equal(ramAtCheckpoint, SnapshotGuest.RamHash(parent));
        Assert.Throws<ArgumentException>(() => child.Rewind(checkpoint));   // the parent's checkpoint is not the fork's

        // The rewound parent forks again: the new fork starts from the checkpoint's state.
        parent.Run(maxInstructions: 50_000);
        parent.Rewind(checkpoint);
        using Machine again = parent.Fork();
        Assert.Equal(ramAtCheckpoint, SnapshotGuest.RamHash(again));
        Assert.Equal(SnapshotGuest.CpuText(parent), SnapshotGuest.CpuText(again));
    }

    [Fact]
    public void TheForkCopiesNothingUntilWrittenAndCountsThePagesItCopies()
    {
        using Machine parent = SnapshotGuest.Builder(new BufferCharacterSink()).Build();
        byte[] block = new byte[1 << 20];
        block.AsSpan().Fill(0x5A);
        parent.Memory.Write(new PhysicalAddress(1 << 20), block);
        parent.Run(maxInstructions: 10_000);
        long allocated = parent.Memory.AllocatedRamBytes;

        using Machine child = parent.Fork();
        Assert.Equal(0, child.Memory.CopiedOnWritePageCount);
        Assert.Equal(allocated, child.Memory.SharedRamBytes);

        // Three pages (two in one chunk, a third in another), the first twice: three pages copied.
        child.Memory.WriteByte(new PhysicalAddress(0x10_0000), 1);
        child.Memory.WriteByte(new PhysicalAddress(0x10_0001), 1);
        child.Memory.WriteByte(new PhysicalAddress(0x10_1000), 1);
        child.Memory.WriteByte(new PhysicalAddress(0x11_0000), 1);
        Assert.Equal(3, child.Memory.CopiedOnWritePageCount);
        Assert.Equal(allocated - (3 * PhysicalMemoryMap.PageSizeInBytes), child.Memory.SharedRamBytes);
        Assert.Equal(allocated, parent.Memory.SharedRamBytes);
        Assert.Equal(0, parent.Memory.CopiedOnWritePageCount);
    }

    [Fact]
    public void ACaptureIsNewAndEmptyInTheForkAndHostBackendsAreNotShared()
    {
        var debugConsole = new BufferCharacterSink();
        using Machine parent = new MachineBuilder()
            .WithMemorySize(SnapshotGuest.MemorySizeInBytes)
            .WithSerialCapture(0)
            .WithDebugConsole(debugConsole)
            .WithClock(new VirtualClockOptions { Mode = VirtualClockMode.Deterministic })
            .WithFlatBinary(SnapshotGuest.Image, new PhysicalAddress(0x7C00), BootEntryState.RealMode(0, 0x7C00, "snapshot guest"))
            .Build();
        parent.Run(maxInstructions: 300_000);
        string before = parent.GetSerialCapture(0).GetText();
        Assert.NotEmpty(before);

        using Machine child = parent.Fork();
        Assert.NotSame(parent.GetSerialCapture(0), child.GetSerialCapture(0));
        Assert.Equal(0, child.GetSerialCapture(0).TotalBytes);
        child.Run(maxInstructions: ToTheEnd);
        Assert.Equal(FullOutput, before + child.GetSerialCapture(0).GetText());
        Assert.Equal(before, parent.GetSerialCapture(0).GetText());

        // A port with a capture takes no backend from the options.
        ArgumentException e = Assert.Throws<ArgumentException>(() => parent.Fork(SerialTo(new BufferCharacterSink())));
        Assert.Contains("SerialBackends[0]", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AForkWithoutGivenBackendsDropsItsSerialOutput()
    {
        var parentSerial = new BufferCharacterSink();
        using Machine parent = SnapshotGuest.Builder(parentSerial).Build();
        parent.Run(maxInstructions: 100_000);
        string before = parentSerial.GetText();
        using Machine child = parent.Fork();
        child.Run(maxInstructions: ToTheEnd);
        Assert.Equal(before, parentSerial.GetText());
    }

    [Fact]
    public void AStatelessCustomDeviceIsRefusedUnlessAllowed()
    {
        int created = 0;
        using Machine parent = SnapshotGuest.Builder(new BufferCharacterSink())
            .AddDevice(_ =>
            {
                created++;
                return new StatelessPortDevice();
            })
            .Build();
        InvalidOperationException e = Assert.Throws<InvalidOperationException>(() => parent.Fork());
        Assert.Contains("'stateless'", e.Message, StringComparison.Ordinal);
        Assert.Equal(1, created);

        using Machine child = parent.Fork(new ForkOptions { AllowStatelessDevices = true });
        Assert.Equal(2, created);                      // the factory made the fork's own instance
        Assert.NotSame(parent.Devices.OfType<StatelessPortDevice>().Single(), child.Devices.OfType<StatelessPortDevice>().Single());
    }

    [Fact]
    public void EntropyPerturbationMakesTheForkDistinct()
    {
        using Machine parent = SnapshotGuest.Builder(new BufferCharacterSink()).Build();
        parent.Run(maxInstructions: 100_000);
        using Machine same = parent.Fork();
        using Machine moved = parent.Fork(new ForkOptions { Entropy = EntropyPerturbation.FromSeed(7) });
        using Machine movedAgain = parent.Fork(new ForkOptions { Entropy = EntropyPerturbation.FromSeed(7) });
        Assert.Equal(parent.Cpu.SaveState().TscOffset, same.Cpu.SaveState().TscOffset);
        Assert.Equal(unchecked(parent.Cpu.SaveState().TscOffset + EntropyPerturbation.FromSeed(7).TscOffset), moved.Cpu.SaveState().TscOffset);
        Assert.Equal(moved.Cpu.SaveState().TscOffset, movedAgain.Cpu.SaveState().TscOffset);
        Assert.Equal(parent.FindDevice<Rtc146818>()!.SaveState(), same.FindDevice<Rtc146818>()!.SaveState());
        Assert.NotEqual(parent.FindDevice<Rtc146818>()!.SaveState(), moved.FindDevice<Rtc146818>()!.SaveState());
    }

    [Fact]
    public void AForkResetsAndBootsAsItsParentWould()
    {
        var parentSerial = new BufferCharacterSink();
        using Machine parent = SnapshotGuest.Builder(parentSerial).Build();
        parent.Run(maxInstructions: 300_000);
        var childSerial = new BufferCharacterSink();
        using Machine child = parent.Fork(SerialTo(childSerial));
        child.Reset();
        child.Run(maxInstructions: ToTheEnd);
        Assert.Equal(FullOutput, childSerial.GetText());
    }

    /// <summary>A custom device with a port and no saved state.</summary>
    private sealed class StatelessPortDevice : IPortMappedDevice
    {
        public string Name => "stateless";

        public IReadOnlyList<PortBinding> PortBindings => [new PortBinding("stateless", 0x3E0, 1, new NullPortDevice())];

        public void Reset()
        {
        }
    }
}
