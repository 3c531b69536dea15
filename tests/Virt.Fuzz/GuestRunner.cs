using System.Diagnostics;
using Virt.Cpu;
using Virt.Devices;
using Virt.Machine;
using Virt.Machine.Boot;
using Virt.Memory;
using X86Cpu = Virt.Cpu.Cpu;

namespace Virt.Fuzz;

/// <summary>Runs one fuzzed guest on a bare CPU or a whole machine and reports how it ended; host exceptions are caught and returned.</summary>
public static class GuestRunner
{
    private const ulong FnvOffset = 0xCBF2_9CE4_8422_2325;
    private const ulong FnvPrime = 0x0000_0100_0000_01B3;
    private const uint FlagIf = 1u << 9;
    private const ulong MachineMemorySizeInBytes = 4UL << 20;

    /// <summary>How long a machine-level Run may sit without retiring instructions before the halt workaround looks at it.</summary>
    /// <summary>Runs <paramref name="guest"/> once.</summary>
    /// <param name="guest">The case.</param>
    /// <param name="control">Lets a watchdog stop the run, or null.</param>
    /// <param name="fingerprint">Whether to hash the final state (for the determinism check).</param>
    /// <param name="disableDecodeCache">See <see cref="FuzzCampaignOptions.DisableDecodeCache"/>.</param>
    /// <param name="compiledTier">See <see cref="FuzzCampaignOptions.CompiledTier"/>.</param>
    /// <returns>The outcome.</returns>
    public static GuestOutcome Run(FuzzCase guest, GuestControl? control = null, bool fingerprint = false, bool disableDecodeCache = false, bool compiledTier = false)
    {
        ArgumentNullException.ThrowIfNull(guest);
        var cpuOptions = new CpuOptions { DisableDecodeCache = disableDecodeCache };
        if (compiledTier)
        {
            cpuOptions = cpuOptions with { ExecutionTier = ExecutionTier.Compiled, CompileThreshold = 1 };
        }

        return guest.Level == FuzzLevel.Cpu ? RunOnCpu(guest, control, fingerprint, cpuOptions) : RunOnMachine(guest, control, fingerprint, cpuOptions);
    }

    /// <summary>The fuzz board's IDE disk: small, in memory, so guest writes cost nothing on the host.</summary>
    private const long FuzzDiskSizeInBytes = 1L << 20;

    /// <summary>The fuzz board's CD medium (read-only, 2048-byte sectors).</summary>
    private const long FuzzCdSizeInBytes = 64 * CdSectorSizeInBytes;

    private const int CdSectorSizeInBytes = 2048;

    /// <summary>A 1.44 MB floppy, so the floppy controller is on the board and its commands reach a medium.</summary>
    private const long FloppySizeInBytes = 1_474_560;

    /// <summary>The PCI device number of the fuzz board's edu card (QEMU's educational card, <c>-device edu</c>).</summary>
    public const int EduSlot = 4;

    /// <summary>
    /// The default PC board the machine level and the device fuzzer use, with every optional device of the builder added
    /// (IDE disk and CD, a floppy) and every card Virt.Run's <c>-device</c> offers (the std VGA, the edu card).
    /// </summary>
    /// <returns>The builder.</returns>
    public static MachineBuilder DefaultBoard() =>
        new MachineBuilder()
            .WithMemorySize(MachineMemorySizeInBytes)
            .WithSerialPort(0, new NullSerialBackend())
            .WithSerialPort(1, new NullSerialBackend())
            .WithDebugConsole(new NullCharacterSink())
            .WithDebugExit()
            .WithResetBehavior(ResetBehavior.Stop)
            .WithRtcStartTime(new DateTimeOffset(2026, 12, 5, 0, 0, 0, TimeSpan.Zero))
            .WithPciBus()
            .WithApic()
            .WithHpet()
            .WithFirmwareConfig()
            .WithAcpi()
            .WithVga(VgaKind.Standard)
            .AddPciDevice(context => new EduDevice(context.Clock), EduSlot)
            .WithIdeDrive(0, new MemoryBlockDevice(FuzzDiskSizeInBytes, name: "fuzz disk"))
            .WithIdeDrive(2, new MemoryBlockDevice(FuzzCdSizeInBytes, sectorSize: CdSectorSizeInBytes, readOnly: true, name: "fuzz CD"), IdeMediaKind.Cdrom)
            .WithFloppyDrive(0, new MemoryBlockDevice(FloppySizeInBytes, name: "fuzz floppy"))
            .WithFlatBinary([0xF4], new PhysicalAddress(0x7C00), BootEntryState.RealMode(0, 0x7C00, "fuzz"));

    private static GuestOutcome RunOnCpu(FuzzCase guest, GuestControl? control, bool fingerprint, CpuOptions cpuOptions)
    {
        var stopwatch = Stopwatch.StartNew();
        X86Cpu? cpu = null;
        PhysicalMemoryMap? memory = null;
        try
        {
            memory = new PhysicalMemoryMapBuilder()
                .AddRam("low", new PhysicalAddress(0), GuestLayout.LowRamSizeInBytes)
                .AddRam("high", new PhysicalAddress(0x100000), GuestLayout.HighRamSizeInBytes)
                .Build();
            cpu = new X86Cpu(memory, new IoPortSpace(), options: cpuOptions);
            GuestEnvironment.Apply(memory, cpu, guest);
            X86Cpu attached = cpu;
            control?.Attach(cpu.RequestStop, () => Where(attached));
            StopReason reason = cpu.Run(guest.Budget);
            return new GuestOutcome(reason.ToString(), cpu.RetiredInstructions, fingerprint ? Fingerprint(cpu, memory) : 0, null, stopwatch.Elapsed);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return new GuestOutcome("exception", cpu?.RetiredInstructions ?? 0, 0, e, stopwatch.Elapsed);
        }
    }

    private static GuestOutcome RunOnMachine(FuzzCase guest, GuestControl? control, bool fingerprint, CpuOptions cpuOptions)
    {
        var stopwatch = Stopwatch.StartNew();
        Machine.Machine? machine = null;
        try
        {
            machine = DefaultBoard().WithCpu(cpuOptions).Build();
            GuestEnvironment.Apply(machine.Memory, machine.Cpu, guest);
            Machine.Machine m = machine;
            control?.Attach(m.Pause, () => Where(m.Cpu));
            long start = m.Cpu.RetiredInstructions;
            MachineStopReason reason;
            if (control?.StopRequested == true)
            {
                // Run forgets a Pause that came before it started.
                reason = new MachineStopReason(MachineStopKind.Paused, "stopped before it ran");
            }
            else
            {
                reason = m.Run(guest.Budget);
            }

            string stop = control?.StopRequested == true && reason.Kind == MachineStopKind.Paused ? "watchdog" : reason.Kind.ToString();
            return new GuestOutcome(stop, m.Cpu.RetiredInstructions - start, fingerprint ? Fingerprint(m.Cpu, m.Memory) : 0, null, stopwatch.Elapsed);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return new GuestOutcome("exception", machine?.Cpu.RetiredInstructions ?? 0, 0, e, stopwatch.Elapsed);
        }
        finally
        {
            machine?.Dispose();
        }
    }

    /// <summary>What <see cref="GuestControl.Describe"/> says of a CPU in HLT with interrupts enabled.</summary>
    public const string HaltedWithInterruptsMarker = "halted True, IF True";

    private static string Where(X86Cpu cpu) =>
        $"CS:EIP {cpu.GetSegment(SegmentRegister.Cs).Selector:X4}:{cpu.Eip:X8}, halted {cpu.IsHalted}, IF {(cpu.Flags & FlagIf) != 0}, CR0 {cpu.Cr0:X8}, {cpu.RetiredInstructions} retired";

    /// <summary>FNV-1a over the architectural state the determinism check compares, and the guest's low 640 KiB.</summary>
    private static ulong Fingerprint(X86Cpu cpu, PhysicalMemoryMap memory)
    {
        ulong hash = FnvOffset;
        void Add(ulong value)
        {
            for (int i = 0; i < 8; i++)
            {
                hash = (hash ^ ((value >> (i * 8)) & 0xFF)) * FnvPrime;
            }
        }

        for (int r = 0; r < 8; r++)
        {
            Add(cpu.GetRegister((GeneralRegister)r));
        }

        Add(cpu.Eip);
        Add(cpu.Flags);
        Add(cpu.Cr0);
        Add(cpu.Cr2);
        Add(cpu.Cr3);
        Add(cpu.Cr4);
        Add((ulong)cpu.Cpl);
        Add((ulong)cpu.RetiredInstructions);
        Add(cpu.IsHalted ? 1UL : 0);
        Add(cpu.IsShutdown ? 1UL : 0);
        for (int s = 0; s < 6; s++)
        {
            SegmentState segment = cpu.GetSegment((SegmentRegister)s);
            Add(segment.Selector);
            Add(segment.Base);
            Add(segment.Limit);
            Add(segment.Attributes);
        }

        byte[] low = new byte[GuestLayout.LowRamSizeInBytes];
        memory.Read(new PhysicalAddress(0), low);
        foreach (ulong word in System.Runtime.InteropServices.MemoryMarshal.Cast<byte, ulong>(low))
        {
            hash = (hash ^ word) * FnvPrime;
        }

        return hash;
    }
}
