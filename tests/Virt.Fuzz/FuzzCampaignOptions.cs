namespace Virt.Fuzz;

/// <summary>What a campaign runs. Every switch that leaves something out defaults to including it.</summary>
public sealed record FuzzCampaignOptions
{
    /// <summary>All modes, in the order guests cycle through them.</summary>
    public static readonly IReadOnlyList<FuzzMode> AllModes = Enum.GetValues<FuzzMode>();

    /// <summary>The seed of guest 0; guest i has seed <c>FirstSeed + i</c>.</summary>
    public ulong FirstSeed { get; init; } = 1;

    /// <summary>Stop once the guests retired this many instructions in total (0: no limit).</summary>
    public long InstructionTarget { get; init; } = 10_000_000;

    /// <summary>Stop after this many guests (0: no limit).</summary>
    public int MaxGuests { get; init; }

    /// <summary>The instruction budget of each guest.</summary>
    public long BudgetPerGuest { get; init; } = 50_000;

    /// <summary>The modes guests cycle through (before the Include switches below filter them).</summary>
    public IReadOnlyList<FuzzMode> Modes { get; init; } = AllModes;

    /// <summary>
    /// Include <see cref="FuzzMode.Virtual8086"/>. Off only while the decode cache's recursion on a 16-bit IP wrap under
    /// paging (a stack overflow that kills the process) is not fixed.
    /// </summary>
    public bool IncludeVirtual8086 { get; init; } = true;

    /// <summary>Include <see cref="FuzzMode.Protected16Paging"/> (16-bit code under paging: the same IP-wrap recursion as virtual-8086 mode).</summary>
    public bool IncludeSixteenBitPaging { get; init; } = true;

    /// <summary>The code generators guests alternate between.</summary>
    public IReadOnlyList<FuzzGenerator> Generators { get; init; } = Enum.GetValues<FuzzGenerator>();

    /// <summary>Stop starting guests after this much wall-clock time (null: no limit).</summary>
    public TimeSpan? Duration { get; init; }

    /// <summary>The share of guests (0-100) run on a whole machine rather than a bare CPU.</summary>
    public int MachinePercent { get; init; } = 10;

    /// <summary>Run every n-th guest twice and compare the final state and retired count (0: never).</summary>
    public int DeterminismCheckEvery { get; init; } = 16;

    /// <summary>
    /// Run the CPU with <see cref="Virt.Cpu.CpuOptions.DisableDecodeCache"/>: every instruction decoded afresh. Slower, and it
    /// skips the decode cache's code (and its bugs) while still fuzzing the execution of every mode.
    /// </summary>
    public bool DisableDecodeCache { get; init; }

    /// <summary>
    /// Run the CPU on the compiled tier (<see cref="Virt.Cpu.ExecutionTier.Compiled"/>) with a compile threshold of 1, so
    /// every block a guest enters twice runs as compiled code. Reproducers written by such a campaign name the tier too.
    /// </summary>
    public bool CompiledTier { get; init; }

    /// <summary>The watchdog gives a guest this many times its expected time (budget × measured time per instruction).</summary>
    public int HangFactor { get; init; } = 10;

    /// <summary>The least time the watchdog gives a guest (so a loaded machine or a GC pause is not a hang).</summary>
    public TimeSpan MinimumHangTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>How long a hung guest may take to return after the watchdog asked it to stop before the campaign gives up on it.</summary>
    public TimeSpan StuckGrace { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Where reproducers are written (null: not written).</summary>
    public string? ReproducerDirectory { get; init; }

    /// <summary>Device-traffic machines to run (each with <see cref="DeviceOperationsPerMachine"/> operations); 0: none.</summary>
    public int DeviceMachines { get; init; }

    /// <summary>Port and MMIO operations per device-traffic machine.</summary>
    public int DeviceOperationsPerMachine { get; init; } = 20_000;

    /// <summary>The modes after the Include switches.</summary>
    public IReadOnlyList<FuzzMode> EffectiveModes =>
        [.. Modes.Where(m => (IncludeVirtual8086 || m != FuzzMode.Virtual8086) && (IncludeSixteenBitPaging || m != FuzzMode.Protected16Paging))];

    /// <summary>Throws when the options cannot run (names the option).</summary>
    /// <exception cref="ArgumentException">When an option is out of range.</exception>
    public void Validate()
    {
        if (EffectiveModes.Count == 0)
        {
            throw new ArgumentException("Modes: no mode is left to fuzz.");
        }

        if (Generators.Count == 0)
        {
            throw new ArgumentException("Generators: no generator given.");
        }

        if (BudgetPerGuest <= 0)
        {
            throw new ArgumentException($"BudgetPerGuest: {BudgetPerGuest} is not positive.");
        }

        if (MachinePercent is < 0 or > 100)
        {
            throw new ArgumentException($"MachinePercent: {MachinePercent} is not 0-100.");
        }

        if (InstructionTarget <= 0 && MaxGuests <= 0 && DeviceMachines <= 0 && Duration is null)
        {
            throw new ArgumentException("InstructionTarget, MaxGuests, DeviceMachines, Duration: give at least one limit.");
        }
    }

    /// <summary>The case guest <paramref name="index"/> of this campaign runs (a pure function of the options and the index).</summary>
    /// <param name="index">The guest index.</param>
    /// <returns>The case.</returns>
    public FuzzCase CaseAt(long index)
    {
        IReadOnlyList<FuzzMode> modes = EffectiveModes;
        ulong seed = FirstSeed + (ulong)index;
        FuzzMode mode = modes[(int)(index % modes.Count)];
        FuzzGenerator generator = Generators[(int)(index / modes.Count % Generators.Count)];
        FuzzLevel level = new FuzzRandom(seed, stream: 3).Next(100) < MachinePercent ? FuzzLevel.Machine : FuzzLevel.Cpu;
        return FuzzCase.Generate(seed, mode, generator, level, BudgetPerGuest);
    }
}
