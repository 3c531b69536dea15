using Iced.Intel;
using Virt.Cpu;
using Virt.Devices;
using Virt.Machine.Boot;
using Virt.Machine.Tests.Running;
using Virt.Machine.Tests.Snapshots;
using Virt.Memory;
using Xunit;
using static Iced.Intel.AssemblerRegisters;

namespace Virt.Machine.Tests.Hooks;

public sealed class MemoryWatchTests
{
    private const ushort Origin = HookTestMachine.Origin;
    private const uint Variable = 0x600;
    private const uint Other = 0x700;
    private const int Iterations = 5;
    private const uint HighWord = 3;

    [Fact]
    public void WriteWatchIsCalledOncePerWriteWithAddressWidthAndValue()
    {
        using Machine machine = Build(LoopGuest());
        var seen = new List<(ulong Address, int Size, bool Write, ulong Value, uint Stored)>();
        using IDisposable watch = machine.Hooks.AddMemoryWatch(Variable, 4, MemoryWatchKind.Write, c =>
            seen.Add((c.LinearAddress, c.Size, c.IsWrite, c.Value, c.Memory.ReadDoubleWord(new PhysicalAddress(Variable)))));

        Assert.Equal(MachineStopKind.HaltedForGood, machine.Run(maxInstructions: 10_000).Kind);

        Assert.Equal(Iterations, seen.Count);
        for (int i = 0; i < Iterations; i++)
        {
            ulong expected = (HighWord << 16) | (uint)(Iterations - i);
            Assert.Equal((Variable, 4, true, expected, (uint)expected), seen[i]); // called after the store completed
        }
    }

    [Fact]
    public void ReadWatchSeesOnlyReadsAndAWiderRangeSeesThePartialOverlap()
    {
        using Machine machine = Build(LoopGuest());
        var reads = new List<(ulong Address, int Size, bool Write, ulong Value)>();
        var partial = new List<(ulong Address, int Size)>();
        int beside = 0;
        using IDisposable read = machine.Hooks.AddMemoryWatch(Variable, 4, MemoryWatchKind.Read, c => reads.Add((c.LinearAddress, c.Size, c.IsWrite, c.Value)));
        using IDisposable last = machine.Hooks.AddMemoryWatch(Variable + 3, 1, MemoryWatchKind.ReadWrite, c => partial.Add((c.LinearAddress, c.Size)));
        using IDisposable next = machine.Hooks.AddMemoryWatch(Variable + 4, 4, MemoryWatchKind.ReadWrite, _ => beside++);

        machine.Run(maxInstructions: 10_000);

        // The guest reads the word at Variable + 2 (HighWord) each iteration.
        Assert.Equal(Iterations, reads.Count);
        Assert.All(reads, r => Assert.Equal((Variable + 2, 2, false, (ulong)HighWord), r));

        // Byte Variable + 3 lies inside both the dword store and the word load.
        Assert.Equal(2 * Iterations, partial.Count);
        Assert.Equal(Iterations, partial.Count(p => p == (Variable, 4)));
        Assert.Equal(Iterations, partial.Count(p => p == (Variable + 2, 2)));
        Assert.Equal(0, beside);
    }

    [Fact]
    public void WatchCanStopTheRunAfterTheInstruction()
    {
        using Machine machine = Build(LoopGuest());
        int calls = 0;
        using IDisposable watch = machine.Hooks.AddMemoryWatch(Variable, 4, MemoryWatchKind.Write, c =>
        {
            calls++;
            c.Stop();
        });

        Assert.Equal(MachineStopKind.Paused, machine.Run(maxInstructions: 10_000).Kind);
        Assert.Equal(1, calls);
        Assert.Equal((HighWord << 16) | Iterations, machine.Memory.ReadDoubleWord(new PhysicalAddress(Variable)));
        Assert.Equal(StoreEnd(), machine.Cpu.Eip + (uint)machine.Cpu.GetSegment(SegmentRegister.Cs).Base);

        Assert.Equal(MachineStopKind.Paused, machine.Run(maxInstructions: 10_000).Kind);
        Assert.Equal(2, calls);
        Assert.Equal((HighWord << 16) | (Iterations - 1), machine.Memory.ReadDoubleWord(new PhysicalAddress(Variable)));
    }

    [Fact]
    public void DisposedWatchIsNoLongerCalled()
    {
        using Machine machine = Build(LoopGuest());
        int calls = 0;
        IDisposable? watch = null;
        watch = machine.Hooks.AddMemoryWatch(Variable, 4, MemoryWatchKind.ReadWrite, _ =>
        {
            if (++calls == 3)
            {
                watch!.Dispose();
            }
        });

        Assert.Equal(MachineStopKind.HaltedForGood, machine.Run(maxInstructions: 10_000).Kind);
        Assert.Equal(3, calls);

        using Machine other = Build(LoopGuest());
        int never = 0;
        other.Hooks.AddMemoryWatch(Variable, 4, MemoryWatchKind.ReadWrite, _ => never++).Dispose();
        other.Run(maxInstructions: 10_000);
        Assert.Equal(0, never);
    }

    [Fact]
    public void ObservingWatchLeavesTheRunIdentical()
    {
        byte[] code = LoopGuest();
        using Machine plain = Build(code);
        MachineStopReason plainStop = plain.Run(maxInstructions: 10_000);

        using Machine watched = Build(code);
        int calls = 0;
        using IDisposable watch = watched.Hooks.AddMemoryWatch(Variable, 8, MemoryWatchKind.ReadWrite, _ => calls++);
        MachineStopReason watchedStop = watched.Run(maxInstructions: 10_000);

        Assert.Equal(plainStop.Kind, watchedStop.Kind);
        Assert.Equal(2 * Iterations, calls);
        Assert.Equal(plain.Cpu.RetiredInstructions, watched.Cpu.RetiredInstructions);
        Assert.Equal(SnapshotGuest.RamHash(plain), SnapshotGuest.RamHash(watched));
    }

    [Fact]
    public void BadArgumentsThrow()
    {
        using Machine machine = Build(LoopGuest());
        Assert.Throws<ArgumentOutOfRangeException>(() => machine.Hooks.AddMemoryWatch(Variable, 0, MemoryWatchKind.Write, _ => { }));
        Assert.Throws<ArgumentOutOfRangeException>(() => machine.Hooks.AddMemoryWatch(0xFFFF_FFFF, 2, MemoryWatchKind.Write, _ => { }));
        Assert.Throws<ArgumentOutOfRangeException>(() => machine.Hooks.AddMemoryWatch(Variable, 4, (MemoryWatchKind)9, _ => { }));
        Assert.Throws<ArgumentNullException>(() => machine.Hooks.AddMemoryWatch(Variable, 4, MemoryWatchKind.Write, null!));
    }

    private static void Prefix(Assembler a) => a.mov(ecx, (HighWord << 16) | Iterations);

    /// <summary>Linear address right after the first loop store (where a write watch's stop leaves EIP).</summary>
    private static uint StoreEnd() => Origin + (uint)GuestPrograms.Assemble16(Origin, a =>
    {
        Prefix(a);
        a.mov(__dword_ptr[Variable], ecx);
    }).Length;

    /// <summary>Real mode: ECX = 3_0005h; loop { [600h] = ECX (dword); AX = [602h] (word) } LOOP on CX; [700h] = 1; halt.</summary>
    private static byte[] LoopGuest() => GuestPrograms.Assemble16(Origin, a =>
    {
        Prefix(a);
        Label top = a.CreateLabel();
        a.Label(ref top);
        a.mov(__dword_ptr[Variable], ecx);
        a.mov(ax, __word_ptr[Variable + 2]);
        a.loop(top);
        a.mov(__byte_ptr[Other], 1);
        a.cli();
        a.hlt();
    });

    private static Machine Build(byte[] code) => HookTestMachine.Build(code, "watch test");
}
