using Virt.Memory;

namespace Virt.Benchmarks;

/// <summary>
/// One loop of the tier benchmark (<c>TierRunner</c>) as a <see cref="QemuGuestImage"/> runs it: the loop's code
/// from <see cref="GuestPrograms"/>, the mode it runs in, the data it expects in memory, and the instructions it retires.
/// </summary>
/// <param name="Name">The tier benchmark's name for the loop (tier-alu, ...).</param>
/// <param name="Mode">The processor mode the loop runs in.</param>
/// <param name="Code">The loop's machine code for an iteration count, to load at <see cref="GuestPrograms.CodeOffset"/>; it ends the loop with a HLT.</param>
/// <param name="LoopInstructions">The instructions the loop retires for an iteration count, its own setup and final HLT included.</param>
/// <param name="Data">Bytes the loop expects in memory before it starts, by physical address (below 1 MiB, at most 4 KiB each).</param>
public sealed record QemuGuestLoop(
    string Name,
    QemuGuestMode Mode,
    Func<uint, byte[]> Code,
    Func<uint, long> LoopInstructions,
    IReadOnlyList<(uint Address, byte[] Bytes)> Data)
{
    /// <summary>The loops of the tier benchmark, in its order, with the same code and the same data as <c>TierRunner</c> uses.</summary>
    public static IReadOnlyList<QemuGuestLoop> All { get; } =
    [
        new("tier-alu", QemuGuestMode.Real, GuestPrograms.AluBranchLoop, GuestPrograms.AluLoopInstructions, []),
        new("tier-mixed", QemuGuestMode.Real, GuestPrograms.MixedLoop, MixedInstructions, []),
        new("tier-pm-alu", QemuGuestMode.ProtectedPaged, GuestPrograms.ProtectedAluBranchLoop, GuestPrograms.AluLoopInstructions, []),
        new("tier-pm-mixed", QemuGuestMode.ProtectedPaged, GuestPrograms.ProtectedMixedLoop, MixedInstructions, []),
        new("tier-lm-alu", QemuGuestMode.Long, GuestPrograms.LongAluBranchLoop, GuestPrograms.AluLoopInstructions, []),
        new("tier-lm-mixed", QemuGuestMode.Long, GuestPrograms.LongMixedLoop, MixedInstructions, []),
        new("tier-pm-decode", QemuGuestMode.ProtectedFlat, GuestPrograms.ProtectedDecodeLoop, GuestPrograms.DecodeLoopInstructions, DecodeData()),
    ];

    /// <summary>
    /// The mixed loops' count: <see cref="GuestPrograms.MixedLoopBodyInstructions"/> per iteration and the real-mode loop's
    /// setup; the 32- and 64-bit loops' setup is two instructions shorter, which the image's measured overhead absorbs (only
    /// differences between two iteration counts are used).
    /// </summary>
    private static long MixedInstructions(uint iterations) =>
        (iterations * GuestPrograms.MixedLoopBodyInstructions) + GuestPrograms.MixedLoopOverheadInstructions;

    /// <summary>pm-decode's input and probabilities, as <see cref="GuestPrograms.CreateDecodeMachine"/> writes them.</summary>
    private static (uint Address, byte[] Bytes)[] DecodeData()
    {
        const uint initialProbability = 1024;
        var probabilities = new byte[256 * sizeof(uint)];
        for (int i = 0; i < 256; i++)
        {
            BitConverter.TryWriteBytes(probabilities.AsSpan(i * sizeof(uint)), initialProbability);
        }

        return [(GuestPrograms.DecodeInput, GuestPrograms.DecodeInputBytes()), (GuestPrograms.DecodeProbabilities, probabilities)];
    }

    /// <summary>Builds the bare CPU <c>TierRunner</c> runs this loop on (no firmware, the mode set by the host).</summary>
    /// <param name="iterations">Loop iterations.</param>
    /// <param name="options">CPU options.</param>
    /// <returns>The CPU, about to run the loop.</returns>
    public Cpu.Cpu CreateBareCpu(uint iterations, Cpu.CpuOptions options) => Mode switch
    {
        QemuGuestMode.Real => GuestPrograms.CreateMachine(Code(iterations), options),
        QemuGuestMode.Long => GuestPrograms.CreateLongModeMachine(Code(iterations), options),
        _ => GuestPrograms.CreateProtectedMachine(Code(iterations), options, Mode == QemuGuestMode.ProtectedPaged, memory =>
        {
            foreach ((uint address, byte[] bytes) in Data)
            {
                memory.Write(new PhysicalAddress(address), bytes);
            }
        }),
    };
}
