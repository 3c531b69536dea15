namespace Virt.Fuzz.Tests;

/// <summary>
/// The default-suite campaign: a few million guest instructions over every mode,
/// both generators, CPU and machine level, with fixed seeds, so it is deterministic and takes seconds.
/// </summary>
public sealed class ShortCampaignTests
{
    [Fact]
    public void Short_campaign_has_no_host_exception_hang_or_divergence()
    {
        var options = new FuzzCampaignOptions
        {
            FirstSeed = 20261205,
            InstructionTarget = 3_000_000,
            BudgetPerGuest = 40_000,
            MachinePercent = 20,
            DeterminismCheckEvery = 4,
            MinimumHangTimeout = TimeSpan.FromSeconds(60),
        };

        FuzzSummary summary = new FuzzCampaign(options).Run();

        Assert.True(summary.FindingCount == 0 && summary.AbortReason is null, summary.Format());
        Assert.True(summary.Instructions >= options.InstructionTarget, summary.Format());
        foreach (FuzzMode mode in FuzzCampaignOptions.AllModes)
        {
            Assert.True(summary.InstructionsByMode.GetValueOrDefault(mode.ToString()) > 0, $"{mode} ran nothing\n{summary.Format()}");
        }

        Assert.True(summary.InstructionsByLevel.GetValueOrDefault(nameof(FuzzLevel.Machine)) > 0, summary.Format());
        Assert.True(summary.DeterminismChecks > 0, summary.Format());

        // The handlers keep most guests going, and some fault cascades still end in a triple fault.
        Assert.True(summary.Stops.GetValueOrDefault("BudgetExhausted") > 0, summary.Format());
        Assert.True(summary.Stops.GetValueOrDefault("Shutdown") > 0, summary.Format());
    }

    [Fact]
    public void Short_campaign_on_the_compiled_tier_has_no_host_exception_hang_or_divergence()
    {
        // Blocks compile at their second entry, so the generated code (not only the interpreter) runs the fuzzed guests.
        var options = new FuzzCampaignOptions
        {
            FirstSeed = 20261206,
            InstructionTarget = 1_000_000,
            BudgetPerGuest = 40_000,
            MachinePercent = 20,
            DeterminismCheckEvery = 4,
            MinimumHangTimeout = TimeSpan.FromSeconds(60),
            CompiledTier = true,
        };

        FuzzSummary summary = new FuzzCampaign(options).Run();

        Assert.True(summary.FindingCount == 0 && summary.AbortReason is null, summary.Format());
        Assert.True(summary.Instructions >= options.InstructionTarget, summary.Format());
        Assert.True(summary.DeterminismChecks > 0, summary.Format());
    }

    [Fact]
    public void Device_traffic_on_every_device_of_the_default_board_raises_no_host_exception()
    {
        var options = new FuzzCampaignOptions { FirstSeed = 7, InstructionTarget = 0, DeviceMachines = 4, DeviceOperationsPerMachine = 25_000 };

        FuzzSummary summary = new FuzzCampaign(options).Run();

        Assert.True(summary.FindingCount == 0, summary.Format());
        Assert.Equal(100_000, summary.DeviceOperations);
    }
}
