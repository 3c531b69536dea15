namespace Virt.Fuzz.Tests;

public sealed class ChildProcessCampaignTests
{
    private static FuzzCampaignOptions SmallCampaign() => new()
    {
        FirstSeed = 900,
        InstructionTarget = 0,
        MaxGuests = 4,
        BudgetPerGuest = 5_000,
        Modes = [FuzzMode.RealMode, FuzzMode.Protected32],
        MachinePercent = 0,
    };

    [Fact]
    public void Batches_in_child_processes_add_up()
    {
        FuzzSummary summary = new ChildProcessCampaign(SmallCampaign(), batchGuests: 2).Run();

        Assert.Equal(4, summary.Guests);
        Assert.Equal(0, summary.FindingCount);
        Assert.True(summary.Instructions > 0);
        Assert.Equal(2, summary.GuestsByMode["RealMode"]);
    }

    [Fact]
    public void A_child_that_dies_is_reported_with_the_guest_it_was_running_and_the_batch_goes_on()
    {
        string directory = Path.Combine(Path.GetTempPath(), "virt-fuzz-tests", Guid.NewGuid().ToString("N"));
        var campaign = new ChildProcessCampaign(SmallCampaign() with { ReproducerDirectory = directory }, batchGuests: 4);
        campaign.ChildEnvironment[ChildProcessCampaign.CrashAtIndexVariable] = "2";
        try
        {
            FuzzSummary summary = campaign.Run();

            Assert.True(summary.ProcessCrashes == 1, summary.Format());
            FuzzFinding crash = Assert.Single(summary.Findings);
            Assert.Equal(FindingKind.ProcessCrash, crash.Kind);
            Assert.Equal(902UL, crash.Guest!.Seed);
            Assert.Equal(4, summary.Guests); // guests 0, 1 and 3 ran to the end, guest 2 crashed
            Assert.Equal(1, summary.Stops["crash"]);
            Assert.Equal(3, summary.Stops.Where(s => s.Key != "crash").Sum(s => s.Value));
            Assert.True(summary.InstructionsByMode["RealMode"] > 0 && summary.InstructionsByMode["Protected32"] > 0); // runs before the crash count
            string reproducer = Assert.Single(Directory.GetFiles(directory));
            Assert.Contains("FromHex(902UL", File.ReadAllText(reproducer), StringComparison.Ordinal);
        }
        finally
        {
            if (Directory.Exists(directory))
            {
                Directory.Delete(directory, recursive: true);
            }
        }
    }
}
