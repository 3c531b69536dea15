namespace Virt.Fuzz.Tests;

/// <summary>
/// Bugs found by the fuzzer that are being fixed elsewhere. The campaigns of this project step around them while a switch
/// below is true; set it to false once the fix is merged (the campaigns then cover every mode with the decode cache on,
/// and report the hang).
/// </summary>
internal static class KnownBugs
{
    /// <summary>
    /// Cpu.LookupBlock recurses without end when a decoded block holds an instruction that wraps a 16-bit IP (FFFFh to 0)
    /// under paging: the second page it checks is linear page + 1, not the wrapped one, so the block is invalidated and
    /// decoded again forever, and the stack overflow kills the process. Random code reaches it in virtual-8086 mode, in
    /// 16-bit protected mode with paging, and from the 32-bit paging modes through an IRET whose popped EFLAGS has VM set.
    /// While true, those modes run with the decode cache off (the bug is in the cache; the execution is still fuzzed).
    /// </summary>
    public static readonly bool DecodeCacheRecursion = true;

    /// <summary>Machine.Run never returns (and uses no budget) while the CPU sits in HLT with IF = 1 and nothing can wake it.</summary>
    public static readonly bool MachineHaltHang = true;

    /// <summary>The modes that reach <see cref="DecodeCacheRecursion"/>.</summary>
    private static readonly FuzzMode[] s_modesWithRecursion = [FuzzMode.Protected16Paging, FuzzMode.Protected32Paging, FuzzMode.Pae, FuzzMode.Virtual8086];

    /// <summary>
    /// The campaigns that make up <paramref name="options"/> under the switches: one over every mode, or, while
    /// <see cref="DecodeCacheRecursion"/> is true, one over the other modes and one over those modes without the decode
    /// cache (each with half the instructions).
    /// </summary>
    public static IReadOnlyList<FuzzCampaignOptions> Split(FuzzCampaignOptions options)
    {
        options = options with { Modes = FuzzCampaignOptions.AllModes, WorkAroundMachineHaltHang = MachineHaltHang };
        if (!DecodeCacheRecursion)
        {
            return [options];
        }

        long half = options.InstructionTarget / 2;
        return
        [
            options with { Modes = [.. FuzzCampaignOptions.AllModes.Except(s_modesWithRecursion)], InstructionTarget = half },
            options with { Modes = s_modesWithRecursion, InstructionTarget = options.InstructionTarget - half, DisableDecodeCache = true, FirstSeed = options.FirstSeed + 1_000_000 },
        ];
    }
}
