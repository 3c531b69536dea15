using Virt.Cpu;
using Virt.Devices;
using Virt.Machine.Tests.Running;
using Virt.Memory;
using Xunit;

namespace Virt.Machine.Tests.Snapshots;

/// <summary><see cref="Machine.SaveSnapshot"/> and <see cref="Machine.RestoreSnapshot"/>: the whole machine with its RAM.</summary>
public sealed class MachineSnapshotTests
{
    [Fact]
    public void RestoredMachineContinuesExactlyAsTheOriginal()
    {
        var serialA = new BufferCharacterSink();
        using Machine a = SnapshotGuest.Builder(serialA).Build();
        a.Run(maxInstructions: 300_000);
        string printedBefore = serialA.GetText();
        Assert.NotEmpty(printedBefore);     // mid-way: some letters out, more to come
        byte[] snapshot = SnapshotGuest.Snapshot(a);

        var serialB = new BufferCharacterSink();
        using Machine b = SnapshotGuest.Builder(serialB).Build();
        b.RestoreSnapshot(new MemoryStream(snapshot));
        Assert.Equal(SnapshotGuest.CpuText(a), SnapshotGuest.CpuText(b));
        Assert.Equal(SnapshotGuest.RamHash(a), SnapshotGuest.RamHash(b));

        MachineStopReason stopA = a.Run(maxInstructions: 600_000);
        MachineStopReason stopB = b.Run(maxInstructions: 600_000);
        Assert.Equal(stopA.Kind, stopB.Kind);
        string continuedA = serialA.GetText()[printedBefore.Length..];
        Assert.NotEmpty(continuedA);
        Assert.Equal(continuedA, serialB.GetText());
        Assert.Equal(SnapshotGuest.CpuText(a), SnapshotGuest.CpuText(b));
        Assert.Equal(SnapshotGuest.RamHash(a), SnapshotGuest.RamHash(b));
        Assert.Equal(a.Clock.NowNanoseconds, b.Clock.NowNanoseconds);

        // Everything else too (devices, clock, all RAM): the two machines' snapshots are byte-identical.
        Assert.Equal(SnapshotGuest.Snapshot(a), SnapshotGuest.Snapshot(b));
    }

    [Fact]
    public void RunToTheEndAfterARestorePrintsWhatAnUninterruptedRunPrints()
    {
        var reference = new BufferCharacterSink();
        using (Machine whole = SnapshotGuest.Builder(reference).Build())
        {
            Assert.Equal(MachineStopKind.HaltedForGood, whole.Run(maxInstructions: 20_000_000).Kind);
        }

        var first = new BufferCharacterSink();
        byte[] snapshot;
        using (Machine a = SnapshotGuest.Builder(first).Build())
        {
            a.Run(maxInstructions: 250_000);
            snapshot = SnapshotGuest.Snapshot(a);
        }

        var second = new BufferCharacterSink();
        using Machine b = SnapshotGuest.Builder(second).Build();
        b.RestoreSnapshot(new MemoryStream(snapshot));
        Assert.Equal(MachineStopKind.HaltedForGood, b.Run(maxInstructions: 20_000_000).Kind);
        Assert.Equal(SnapshotGuest.Rounds, reference.GetText().Length);
        Assert.Equal(reference.GetText(), first.GetText() + second.GetText());
    }

    [Fact]
    public void RestoringIntoTheSameMachineRewindsIt()
    {
        var serial = new BufferCharacterSink();
        using Machine machine = SnapshotGuest.Builder(serial).Build();
        machine.Run(maxInstructions: 200_000);
        byte[] snapshot = SnapshotGuest.Snapshot(machine);
        string cpu = SnapshotGuest.CpuText(machine);
        string ram = SnapshotGuest.RamHash(machine);

        machine.Run(maxInstructions: 200_000);
        Assert.NotEqual(ram, SnapshotGuest.RamHash(machine));
        machine.RestoreSnapshot(new MemoryStream(snapshot));
        Assert.Equal(cpu, SnapshotGuest.CpuText(machine));
        Assert.Equal(ram, SnapshotGuest.RamHash(machine));
        Assert.Equal(snapshot, SnapshotGuest.Snapshot(machine));
    }

    [Fact]
    public void RestoreDiscardsCodeTheCpuDecodedFromTheOldRam()
    {
        byte[] snapshot = TakeSnapshot();

        // A machine of the same configuration booted another guest at the same address and ran it, so the CPU holds
        // decoded blocks of that code; after the restore it must run the snapshot's code, not the cached blocks.
        byte[] other = GuestPrograms.Assemble16(0x7C00, a =>
        {
            Iced.Intel.Label loop = a.CreateLabel();
            a.Label(ref loop);
            a.inc(Iced.Intel.AssemblerRegisters.ax);
            a.jmp(loop);
        });
        var serial = new BufferCharacterSink();
        using Machine machine = new MachineBuilder()
            .WithMemorySize(SnapshotGuest.MemorySizeInBytes)
            .WithSerialPort(0, new CharacterSinkSerialBackend(serial))
            .WithClock(new VirtualClockOptions { Mode = VirtualClockMode.Deterministic })
            .WithFlatBinary(other, new PhysicalAddress(0x7C00), Virt.Machine.Boot.BootEntryState.RealMode(0, 0x7C00, "other"))
            .Build();
        machine.Run(maxInstructions: 100_000);
        machine.RestoreSnapshot(new MemoryStream(snapshot));
        Assert.Equal(MachineStopKind.HaltedForGood, machine.Run(maxInstructions: 20_000_000).Kind);
        Assert.NotEmpty(serial.GetText());
        Assert.True(SnapshotGuest.Image.AsSpan().SequenceEqual(ReadBytes(machine, 0x7C00, SnapshotGuest.Image.Length)));
    }

    [Fact]
    public void UntouchedRamCostsNothingAndZeroPagesCostABit()
    {
        var serial = new BufferCharacterSink();
        using Machine machine = SnapshotGuest.Builder(serial, memorySizeInBytes: 256UL << 20).Build();
        machine.Run(maxInstructions: 100_000);

        // The guest touched a few chunks of 256 MiB; VGA's 256 KiB of planes are the largest record.
        byte[] snapshot = SnapshotGuest.Snapshot(machine);
        Assert.True(snapshot.Length < 1 << 20, $"snapshot of an idle 256 MiB machine is {snapshot.Length} bytes");

        // A whole chunk written with zeros is allocated but stored as nothing.
        var address = new PhysicalAddress(0x800_0000);
        MemoryRegionInfo region = machine.Memory.FindRegion(address)!;
        Assert.DoesNotContain((long)((address.Value - region.Range.Start.Value) / PhysicalMemoryMap.RamChunkSizeInBytes), machine.Memory.GetAllocatedRamChunks(region.Name));
        machine.Memory.Write(address, new byte[PhysicalMemoryMap.RamChunkSizeInBytes]);
        Assert.Contains((long)((address.Value - region.Range.Start.Value) / PhysicalMemoryMap.RamChunkSizeInBytes), machine.Memory.GetAllocatedRamChunks(region.Name));
        Assert.Equal(snapshot.Length, SnapshotGuest.Snapshot(machine).Length);
    }

    [Fact]
    public void AnotherRamSizeIsRefusedNamingTheRegion()
    {
        byte[] snapshot = TakeSnapshot();
        using Machine other = SnapshotGuest.Builder(new BufferCharacterSink(), memorySizeInBytes: 8UL << 20).Build();
        string before = SnapshotGuest.CpuText(other);
        var e = Assert.Throws<SnapshotMismatchException>(() => other.RestoreSnapshot(new MemoryStream(snapshot)));
        Assert.Contains("memory region", e.Message, StringComparison.Ordinal);
        string extended = other.Memory.FindRegion(new PhysicalAddress(1UL << 20))!.Name;
        Assert.Contains($"memory region '{extended}'", e.Message, StringComparison.Ordinal);
        Assert.Contains(((4UL << 20) - (1UL << 20)).ToString(System.Globalization.CultureInfo.InvariantCulture), e.Message, StringComparison.Ordinal);
        Assert.Equal(before, SnapshotGuest.CpuText(other));
    }

    [Fact]
    public void AnotherCpuModelIsRefusedNamingCpuid()
    {
        byte[] snapshot = TakeSnapshot();
        using Machine other = SnapshotGuest.Builder(new BufferCharacterSink())
            .WithCpu(new CpuOptions { Cpuid = CpuidModel.Default with { Model = 3 } })
            .Build();
        var e = Assert.Throws<SnapshotMismatchException>(() => other.RestoreSnapshot(new MemoryStream(snapshot)));
        Assert.Contains("CPUID", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AMissingDeviceIsRefusedNamingIt()
    {
        byte[] snapshot = TakeSnapshot();
        using Machine other = SnapshotGuest.Builder(new BufferCharacterSink())
            .WithDebugConsole(new BufferCharacterSink())
            .Build();
        var e = Assert.Throws<SnapshotMismatchException>(() => other.RestoreSnapshot(new MemoryStream(snapshot)));
        string added = other.Devices.Select(d => d.Name).Except(BuildGuest().Devices.Select(d => d.Name)).Single();
        Assert.Contains($"'{added}'", e.Message, StringComparison.Ordinal);
        Assert.Contains("this machine has device", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ADeviceThatCannotSaveItsStateIsRefusedUnlessTheHostOptsIn()
    {
        using Machine machine = SnapshotGuest.Builder(new BufferCharacterSink())
            .AddDevice(_ => new StatelessDevice())
            .Build();
        var e = Assert.Throws<InvalidOperationException>(() => machine.SaveSnapshot(new MemoryStream()));
        Assert.Contains($"'{StatelessDevice.DeviceName}'", e.Message, StringComparison.Ordinal);

        var stream = new MemoryStream();
        machine.SaveSnapshot(stream, allowStatelessDevices: true);
        machine.RestoreSnapshot(new MemoryStream(stream.ToArray()));
    }

    [Fact]
    public void WrongMagicVersionAndTruncationAreNamed()
    {
        byte[] snapshot = TakeSnapshot();
        using Machine machine = BuildGuest();

        byte[] magic = (byte[])snapshot.Clone();
        magic[0] ^= 0x20;
        Assert.Contains("magic", Restore(machine, magic).Message, StringComparison.Ordinal);

        byte[] version = (byte[])snapshot.Clone();
        version[8] = 3;
        Assert.Contains("format version 3", Restore(machine, version).Message, StringComparison.Ordinal);

        Assert.Contains("truncated", Restore(machine, snapshot[..(snapshot.Length - 1)]).Message, StringComparison.Ordinal);

        // The length field of the first section ('CONF') made huge.
        byte[] length = (byte[])snapshot.Clone();
        length[12 + 4 + 3] = 0x7F;
        SnapshotFormatException e = Restore(machine, length);
        Assert.Contains("'CONF'", e.Message, StringComparison.Ordinal);
        Assert.Contains("length", e.Message, StringComparison.Ordinal);

        byte[] flipped = (byte[])snapshot.Clone();
        flipped[snapshot.Length / 2] ^= 1;
        Assert.Contains("CRC-32", Restore(machine, flipped).Message, StringComparison.Ordinal);
    }

    private static byte[] ReadBytes(Machine machine, ulong address, int count)
    {
        byte[] bytes = new byte[count];
        machine.Memory.Read(new PhysicalAddress(address), bytes);
        return bytes;
    }

    private static SnapshotFormatException Restore(Machine machine, byte[] bytes) =>
        Assert.Throws<SnapshotFormatException>(() => machine.RestoreSnapshot(new MemoryStream(bytes)));

    private static Machine BuildGuest() => SnapshotGuest.Builder(new BufferCharacterSink()).Build();

    private static byte[] TakeSnapshot()
    {
        using Machine machine = BuildGuest();
        machine.Run(maxInstructions: 100_000);
        return SnapshotGuest.Snapshot(machine);
    }

    /// <summary>A custom device without <see cref="IStatefulDevice{TState}"/>.</summary>
    private sealed class StatelessDevice : IPortMappedDevice
    {
        public const string DeviceName = "stateless custom";

        public string Name => DeviceName;

        public IReadOnlyList<PortBinding> PortBindings => [new PortBinding(DeviceName, 0x300, 1, new NullPortDevice())];

        public void Reset()
        {
        }
    }
}
