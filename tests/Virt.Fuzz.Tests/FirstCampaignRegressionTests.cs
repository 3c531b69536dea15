namespace Virt.Fuzz.Tests;

/// <summary>
/// The reproducers of the bugs the first big campaign found (docs/reliability.md, "Bugs the first campaign found"), as
/// the tool wrote them: each crashed the test host or hung before its fix.
/// </summary>
public sealed class FirstCampaignRegressionTests
{
    /// <summary>
    /// JMP NEAR to CS:FFFF, where 00 E9 (ADD CL,CH) straddles the 16-bit IP wrap under paging: the decode-cache lookup
    /// recursed until the stack overflowed. The same bytes in 16-bit protected mode with paging and in virtual-8086 mode.
    /// </summary>
    [Theory]
    [InlineData(FuzzMode.Protected16Paging)]
    [InlineData(FuzzMode.Virtual8086)]
    public void Instruction_wrapping_the_16_bit_ip_under_paging_runs_cleanly(FuzzMode mode) =>
        ReproducerCheck.AssertRunsCleanly(FuzzCase.FromHex(1UL, mode, FuzzGenerator.DecodableInstructions, FuzzLevel.Cpu, budget: 1000, "E9FCFF"));

    /// <summary>STI; HLT on a whole machine with no timer armed: Run(maxInstructions) never returned.</summary>
    [Theory]
    [InlineData(FuzzMode.RealMode)]
    [InlineData(FuzzMode.Protected32)]
    public void Sti_hlt_on_a_machine_returns_within_its_budget(FuzzMode mode) =>
        ReproducerCheck.AssertRunsCleanly(FuzzCase.FromHex(2UL, mode, FuzzGenerator.DecodableInstructions, FuzzLevel.Machine, budget: 1000, "FBF4"));
}
