namespace Virt.Fuzz.Tests;

public sealed class FuzzCampaignTests
{
    [Theory]
    [InlineData(FuzzLevel.Cpu)]
    [InlineData(FuzzLevel.Machine)]
    public void The_watchdog_reports_a_guest_that_does_not_return_and_stops_it(FuzzLevel level)
    {
        // jmp $ with a budget of ten billion: far past a watchdog whose timeout is its floor (HangFactor 0). The floor is
        // 3 s of wall time rather than 300 ms: on a heavily loaded host the guest's setup code alone can take longer than
        // 300 ms, and the watchdog then reports it before it reaches the loop whose address is asserted below.
        var guest = new FuzzCase(31, FuzzMode.Protected32, FuzzGenerator.DecodableInstructions, level, 10_000_000_000, [0xEB, 0xFE]);
        var options = new FuzzCampaignOptions
        {
            FirstSeed = 31,
            MaxGuests = 1,
            InstructionTarget = 0,
            DeterminismCheckEvery = 0,
            HangFactor = 0,
            MinimumHangTimeout = TimeSpan.FromSeconds(3),
        };

        FuzzSummary summary = new FuzzCampaign(options, fixedCase: guest).Run();

        Assert.Equal(1, summary.Hangs);
        FuzzFinding hang = Assert.Single(summary.Findings);
        Assert.Equal(FindingKind.Hang, hang.Kind);
        Assert.Equal(31UL, hang.Guest!.Seed);
        Assert.True(hang.Detail.Contains("CS:EIP 0008:0001000", StringComparison.Ordinal), hang.Detail); // where it spun (read while it ran: 10000h or 10002h)
        Assert.Equal(0, summary.HangsHaltedWithInterruptsEnabled); // it was spinning, not waiting in HLT
        Assert.Null(summary.AbortReason); // it stopped when asked
        Assert.Equal(1, summary.Guests);
    }

    [Fact]
    public void Summaries_add_up_and_keep_the_larger_peaks()
    {
        var a = new FuzzSummary { PeakManagedBytes = 10, PeakWorkingSetBytes = 50 };
        var b = new FuzzSummary { PeakManagedBytes = 20, PeakWorkingSetBytes = 40 };
        FuzzCase guest = FuzzCase.Generate(1, FuzzMode.Pae, FuzzGenerator.RandomBytes, FuzzLevel.Cpu, 100);
        a.AddRun(guest, new GuestOutcome("Halted", 70, 0, null, TimeSpan.Zero), firstRun: true);
        b.AddRun(guest, new GuestOutcome("Halted", 30, 0, null, TimeSpan.Zero), firstRun: true);
        b.AddRun(guest, new GuestOutcome("Halted", 30, 0, null, TimeSpan.Zero), firstRun: false);
        b.AddFinding(new FuzzFinding(FindingKind.HostException, guest, null, "boom"));

        a.Add(b);

        Assert.Equal(2, a.Guests);
        Assert.Equal(130, a.Instructions);
        Assert.Equal(130, a.InstructionsByMode["Pae"]);
        Assert.Equal(2, a.Stops["Halted"]);
        Assert.Equal(1, a.HostExceptions);
        Assert.Equal(1, a.DeterminismChecks); // the re-run
        Assert.Equal(20, a.PeakManagedBytes);
        Assert.Equal(50, a.PeakWorkingSetBytes);
        Assert.Contains("host exceptions: 1", a.Format(), StringComparison.Ordinal);
    }
}
