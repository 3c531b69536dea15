using Iced.Intel;
using Virt.Devices;
using Virt.Machine.Boot;
using Virt.Machine.Tests.Running;
using Virt.Memory;
using Xunit;
using static Iced.Intel.AssemblerRegisters;

namespace Virt.Machine.Tests.Snapshots;

/// <summary><see cref="Machine.PerturbEntropy"/>: clones of one snapshot or checkpoint read distinct, seed-determined time.</summary>
public sealed class MachineEntropyTests
{
    /// <summary>Where the guest stores what it read: RDTSC's EDX:EAX, then the CMOS clock registers of <see cref="ClockRegisters"/>.</summary>
    private const int ResultAddress = 0x500;

    /// <summary>Iterations of the guest's opening spin, so the snapshot is taken before it reads anything.</summary>
    private const int SpinIterations = 20_000;

    private const byte CmosIndexPort = 0x70;
    private const byte CmosDataPort = 0x71;

    /// <summary>Seconds, minutes, hours, day of month, month, year (MC146818 datasheet, register map).</summary>
    private static readonly byte[] ClockRegisters = [0x00, 0x02, 0x04, 0x07, 0x08, 0x09];

    private static readonly int ResultLength = 8 + ClockRegisters.Length;

    /// <summary>Real-mode guest: spins, then reads RDTSC and the CMOS clock into 0000:0500 and halts for good.</summary>
    private static readonly byte[] Image = GuestPrograms.Assemble16(0x7C00, a =>
    {
        a.xor(ax, ax);
        a.mov(ds, ax);
        a.mov(cx, SpinIterations);
        Label spin = a.CreateLabel();
        a.Label(ref spin);
        a.loop(spin);
        a.rdtsc();
        a.mov(__dword_ptr[ResultAddress], eax);
        a.mov(__dword_ptr[ResultAddress + 4], edx);
        for (int i = 0; i < ClockRegisters.Length; i++)
        {
            a.mov(al, ClockRegisters[i]);
            a.@out(CmosIndexPort, al);
            a.@in(al, CmosDataPort);
            a.mov(__byte_ptr[ResultAddress + 8 + i], al);
        }

        a.cli();
        a.hlt();
    });

    [Fact]
    public void ClonesOfASnapshotReadTheSameTimeUnlessPerturbedAndTheSeedDecides()
    {
        byte[] snapshot = TakeSnapshot();
        string plainA = RunClone(snapshot, null);
        string plainB = RunClone(snapshot, null);
        string seeded1 = RunClone(snapshot, EntropyPerturbation.FromSeed(1));
        string seeded1Again = RunClone(snapshot, EntropyPerturbation.FromSeed(1));
        string seeded2 = RunClone(snapshot, EntropyPerturbation.FromSeed(2));

        Assert.Equal(plainA, plainB);
        Assert.Equal(seeded1, seeded1Again);
        Assert.NotEqual(plainA, seeded1);
        AssertBothSourcesDiffer(seeded1, seeded2);
        AssertBothSourcesDiffer(plainA, seeded2);
    }

    [Fact]
    public void RewindsReadTheSameTimeUnlessPerturbedAndTheSeedDecides()
    {
        using Machine machine = Build();
        machine.Run(maxInstructions: 1_000);
        MachineCheckpoint checkpoint = machine.Checkpoint();

        string Continue(EntropyPerturbation? perturbation)
        {
            _ = machine.Rewind(checkpoint);
            if (perturbation is not null)
            {
                machine.PerturbEntropy(perturbation);
            }

            return RunToEnd(machine);
        }

        string plain = RunToEnd(machine);
        Assert.Equal(plain, Continue(null));
        string seeded7 = Continue(EntropyPerturbation.FromSeed(7));
        Assert.Equal(seeded7, Continue(EntropyPerturbation.FromSeed(7)));
        AssertBothSourcesDiffer(plain, seeded7);
        AssertBothSourcesDiffer(seeded7, Continue(EntropyPerturbation.FromSeed(8)));
    }

    [Fact]
    public void TheOffsetsAreWhatTheGuestReadsAndSurviveASnapshot()
    {
        byte[] snapshot = TakeSnapshot();
        using Machine plain = Restore(snapshot);
        using Machine moved = Restore(snapshot);
        var perturbation = new EntropyPerturbation(TscOffset: 1_000_000_000, RtcOffsetSeconds: 3_600);
        moved.PerturbEntropy(perturbation);

        // A snapshot of the perturbed machine carries the TSC offset: its clone reads what the original reads.
        var saved = new MemoryStream();
        moved.SaveSnapshot(saved);
        using Machine copy = Restore(saved.ToArray());

        string plainResult = RunToEnd(plain);
        string movedResult = RunToEnd(moved);
        Assert.Equal(movedResult, RunToEnd(copy));
        Assert.Equal(Tsc(plainResult) + perturbation.TscOffset, Tsc(movedResult));

        // The guest's default clock is BCD and 24-hour: one hour later, same minutes and seconds.
        Assert.Equal(plainResult[16..20], movedResult[16..20]);
        Assert.Equal((FromBcd(plainResult[20..22]) + 1) % 24, FromBcd(movedResult[20..22]));
    }

    [Fact]
    public void ANegativeRtcOffsetIsRefusedNamingTheField()
    {
        using Machine machine = Build();
        string before = SnapshotGuest.CpuText(machine);
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => machine.PerturbEntropy(new EntropyPerturbation(5, -1)));
        Assert.Contains(nameof(EntropyPerturbation.RtcOffsetSeconds), e.Message, StringComparison.Ordinal);
        Assert.Equal(before, SnapshotGuest.CpuText(machine));
    }

    [Fact]
    public void SeededOffsetsStayInTheirDocumentedRanges()
    {
        for (ulong seed = 0; seed < 1_000; seed++)
        {
            EntropyPerturbation p = EntropyPerturbation.FromSeed(seed);
            Assert.InRange(p.TscOffset, EntropyPerturbation.MinimumSeededTscOffset, EntropyPerturbation.SeededTscOffsetLimit - 1);
            Assert.InRange(p.RtcOffsetSeconds, 1, EntropyPerturbation.SeededRtcOffsetLimitSeconds - 1);
            Assert.Equal(p, EntropyPerturbation.FromSeed(seed));
        }
    }

    [Fact]
    public void RdrandAndRdseedAreNotAdvertisedAndRaiseInvalidOpcode()
    {
        const int MarkerAddress = 0x600;
        const int InvalidOpcodeVector = 6;
        const ushort HandlerAddress = 0x8000;
        const uint RdrandBit = 1u << 30; // CPUID.1:ECX.RDRAND (Intel SDM Vol. 2A, CPUID, feature information in ECX)
        byte[] image = GuestPrograms.Assemble16(0x7C00, a =>
        {
            a.xor(ax, ax);
            a.mov(ds, ax);
            a.mov(ss, ax);
            a.mov(sp, 0x7000);
            a.mov(__word_ptr[InvalidOpcodeVector * 4], HandlerAddress);
            a.mov(__word_ptr[(InvalidOpcodeVector * 4) + 2], 0);
            a.mov(eax, 1);
            a.cpuid();
            a.mov(__dword_ptr[MarkerAddress], ecx);
            a.rdrand(ax); // 16-bit operand: no prefix, 3 bytes
            a.rdseed(ax);
            a.cli();
            a.hlt();
        });

        // #UD handler: count the fault and skip the 3-byte instruction (0F C7 /6 or /7 with a register operand).
        byte[] handler = GuestPrograms.Assemble16(HandlerAddress, a =>
        {
            a.inc(__byte_ptr[MarkerAddress + 4]);
            a.mov(bp, sp);
            a.add(__word_ptr[bp], 3);
            a.iret();
        });
        using Machine machine = new MachineBuilder()
            .WithMemorySize(SnapshotGuest.MemorySizeInBytes)
            .WithClock(new VirtualClockOptions { Mode = VirtualClockMode.Deterministic })
            .WithFlatBinary(image, new PhysicalAddress(0x7C00), BootEntryState.RealMode(0, 0x7C00, "rdrand guest"))
            .Build();
        machine.Memory.Write(new PhysicalAddress(HandlerAddress), handler);

        Assert.Equal(MachineStopKind.HaltedForGood, machine.Run(maxInstructions: 100_000).Kind);
        byte[] result = new byte[5];
        machine.Memory.Read(new PhysicalAddress(MarkerAddress), result);
        Assert.Equal(0u, BitConverter.ToUInt32(result) & RdrandBit);
        Assert.Equal(2, result[4]);
    }

    private static Machine Build() => new MachineBuilder()
        .WithMemorySize(SnapshotGuest.MemorySizeInBytes)
        .WithClock(new VirtualClockOptions { Mode = VirtualClockMode.Deterministic })
        .WithFlatBinary(Image, new PhysicalAddress(0x7C00), BootEntryState.RealMode(0, 0x7C00, "entropy guest"))
        .Build();

    private static byte[] TakeSnapshot()
    {
        using Machine machine = Build();
        machine.Run(maxInstructions: 1_000);
        return SnapshotGuest.Snapshot(machine);
    }

    private static Machine Restore(byte[] snapshot)
    {
        Machine machine = Build();
        machine.RestoreSnapshot(new MemoryStream(snapshot));
        return machine;
    }

    private static string RunClone(byte[] snapshot, EntropyPerturbation? perturbation)
    {
        using Machine machine = Restore(snapshot);
        if (perturbation is not null)
        {
            machine.PerturbEntropy(perturbation);
        }

        return RunToEnd(machine);
    }

    /// <summary>Runs the guest until it halts for good; returns what it read, as hex.</summary>
    private static string RunToEnd(Machine machine)
    {
        Assert.Equal(MachineStopKind.HaltedForGood, machine.Run(maxInstructions: 1_000_000).Kind);
        byte[] result = new byte[ResultLength];
        machine.Memory.Read(new PhysicalAddress(ResultAddress), result);
        return Convert.ToHexString(result);
    }

    private static ulong Tsc(string result) => BitConverter.ToUInt64(Convert.FromHexString(result[..16]));

    private static int FromBcd(string hex)
    {
        int value = Convert.ToInt32(hex, 16);
        return ((value >> 4) * 10) + (value & 0xF);
    }

    private static void AssertBothSourcesDiffer(string a, string b)
    {
        Assert.NotEqual(a[..16], b[..16]);
        Assert.NotEqual(a[16..], b[16..]);
    }
}
