using System.Diagnostics;
using Virt.Devices;
using Virt.Memory;
using Xunit;
using Xunit.Abstractions;

namespace Virt.Machine.Tests.Snapshots;

/// <summary><see cref="Machine.Checkpoint"/> and <see cref="Machine.Rewind"/>: in-memory rewinds priced by the pages written.</summary>
public sealed class MachineCheckpointTests(ITestOutputHelper output)
{
    [Fact]
    public void RewindReturnsToTheCheckpointAndReplaysTheSameRun()
    {
        var serial = new BufferCharacterSink();
        using Machine machine = SnapshotGuest.Builder(serial).Build();
        machine.Run(maxInstructions: 200_000);
        MachineCheckpoint checkpoint = machine.Checkpoint();
        string cpu = SnapshotGuest.CpuText(machine);
        string ram = SnapshotGuest.RamHash(machine);
        int printed = serial.GetText().Length;

        machine.Run(maxInstructions: 300_000);
        string firstContinuation = serial.GetText()[printed..];
        string ramAfter = SnapshotGuest.RamHash(machine);
        Assert.NotEmpty(firstContinuation);
        Assert.NotEqual(ram, ramAfter);

        for (int replay = 0; replay < 2; replay++)
        {
            Assert.True(machine.Rewind(checkpoint) > 0);
            Assert.Equal(cpu, SnapshotGuest.CpuText(machine));
            Assert.Equal(ram, SnapshotGuest.RamHash(machine));
            int before = serial.GetText().Length;
            machine.Run(maxInstructions: 300_000);
            Assert.Equal(firstContinuation, serial.GetText()[before..]);
            Assert.Equal(ramAfter, SnapshotGuest.RamHash(machine));
        }
    }

    [Fact]
    public void RewindCostFollowsThePagesWrittenNotTheRamSize()
    {
        using Machine machine = SnapshotGuest.Builder(new BufferCharacterSink(), memorySizeInBytes: 512UL << 20).Build();

        // 64 MiB of RAM in use before the checkpoint: the first checkpoint copies it all, once.
        byte[] block = new byte[1 << 20];
        block.AsSpan().Fill(0x5A);
        for (ulong mib = 16; mib < 80; mib++)
        {
            machine.Memory.Write(new PhysicalAddress(mib << 20), block);
        }

        var timer = Stopwatch.StartNew();
        MachineCheckpoint checkpoint = machine.Checkpoint();
        TimeSpan first = timer.Elapsed;
        Assert.True(checkpoint.PagesCopied >= (64L << 20) / PhysicalMemoryMap.PageSizeInBytes);

        // The guest writes its 2 KiB buffer (one page) and nothing else but the stack-free loop's state.
        machine.Run(maxInstructions: 200_000);
        timer.Restart();
        long restored = machine.Rewind(checkpoint);
        TimeSpan rewind = timer.Elapsed;
        Assert.InRange(restored, 1, 16);

        machine.Run(maxInstructions: 200_000);
        timer.Restart();
        MachineCheckpoint second = machine.Checkpoint();
        TimeSpan next = timer.Elapsed;
        Assert.InRange(second.PagesCopied, 1, 16);

        machine.Run(maxInstructions: 200_000);
        timer.Restart();
        long restoredWarm = machine.Rewind(second);
        TimeSpan rewindWarm = timer.Elapsed;
        Assert.InRange(restoredWarm, 1, 16);

        var stream = new MemoryStream();
        timer.Restart();
        machine.SaveSnapshot(stream);
        TimeSpan save = timer.Elapsed;
        timer.Restart();
        machine.RestoreSnapshot(new MemoryStream(stream.ToArray()));
        TimeSpan restore = timer.Elapsed;
        output.WriteLine(
            $"512 MiB machine, 64 MiB in use: first checkpoint {first.TotalMilliseconds:F2} ms ({checkpoint.PagesCopied} pages), " +
            $"rewind {rewind.TotalMilliseconds:F3} ms ({restored} pages), next checkpoint {next.TotalMilliseconds:F3} ms ({second.PagesCopied} pages), " +
            $"second rewind {rewindWarm.TotalMilliseconds:F3} ms ({restoredWarm} pages); " +
            $"snapshot {stream.Length} bytes, save {save.TotalMilliseconds:F1} ms, restore {restore.TotalMilliseconds:F1} ms");
    }

    [Fact]
    public void OnlyTheLatestCheckpointOfThisMachineCanBeRewoundTo()
    {
        using Machine machine = SnapshotGuest.Builder(new BufferCharacterSink()).Build();
        using Machine other = SnapshotGuest.Builder(new BufferCharacterSink()).Build();
        machine.Run(maxInstructions: 50_000);
        MachineCheckpoint older = machine.Checkpoint();
        machine.Run(maxInstructions: 50_000);
        MachineCheckpoint latest = machine.Checkpoint();
        machine.Run(maxInstructions: 50_000);
        string cpu = SnapshotGuest.CpuText(machine);

        var e = Assert.Throws<ArgumentException>(() => machine.Rewind(older));
        Assert.Contains("latest", e.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => other.Rewind(latest));
        Assert.Equal(cpu, SnapshotGuest.CpuText(machine));

        machine.Rewind(latest);
        Assert.Equal(latest.State.Cpu.RetiredInstructions, machine.Cpu.RetiredInstructions);
    }
}
