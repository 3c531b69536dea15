namespace Virt.Fuzz.Tests;

/// <summary>
/// Bugs found by the fuzzer that are being fixed elsewhere. The campaigns of this project step around them while a switch
/// below is true; set it to false once the fix is merged (the campaigns then cover every mode and report the hang).
/// </summary>
internal static class KnownBugs
{
    /// <summary>
    /// Cpu.LookupBlock recurses without end when a decoded block wraps a 16-bit IP (FFFFh to 0) under paging: the second
    /// page it checks is linear page + 1, not the wrapped one, so the block is invalidated and decoded again forever, and
    /// the stack overflow kills the process. Random code reaches it in virtual-8086 mode, in 16-bit protected mode with
    /// paging, and from the 32-bit paging modes through an IRET whose popped EFLAGS has VM set.
    /// </summary>
    public static readonly bool DecodeCacheRecursion = true;

    /// <summary>Machine.Run never returns (and uses no budget) while the CPU sits in HLT with IF = 1 and nothing can wake it.</summary>
    public static readonly bool MachineHaltHang = true;

    /// <summary>The modes that avoid <see cref="DecodeCacheRecursion"/>: no paging at CPL 0, so no IRET into virtual-8086 mode under paging.</summary>
    private static readonly FuzzMode[] s_modesWithoutRecursion = [FuzzMode.RealMode, FuzzMode.Protected16, FuzzMode.Protected32, FuzzMode.Ring3];

    /// <summary>Applies the switches to <paramref name="options"/>.</summary>
    public static FuzzCampaignOptions Apply(FuzzCampaignOptions options) => options with
    {
        Modes = DecodeCacheRecursion ? s_modesWithoutRecursion : FuzzCampaignOptions.AllModes,
        WorkAroundMachineHaltHang = MachineHaltHang,
    };
}
