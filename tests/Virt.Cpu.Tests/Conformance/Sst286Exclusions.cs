namespace Virt.Cpu.Tests.Conformance;

/// <summary>
/// Where the 80286 (the CPU the SingleStepTests suite captured) and the Pentium Pro class CPU we model legitimately differ.
/// Tests matching an entry are counted as excluded, not run. Every entry says why, citing the Intel SDM.
/// </summary>
internal static class Sst286Exclusions
{
    /// <summary>Whole test files (opcode, or opcode.reg for group opcodes) excluded, with the reason.</summary>
    public static readonly IReadOnlyDictionary<string, string> Files = new Dictionary<string, string>
    {
        // Nothing yet: entries are added only with a cited reason.
    };

    /// <summary>Metadata statuses whose tests are excluded.</summary>
    public static readonly IReadOnlyDictionary<string, string> Statuses = new Dictionary<string, string>
    {
        ["fpu"] = "x87 is not implemented yet (issue 4+); the ESC opcodes D8-DF are excluded until it lands.",
    };
}
