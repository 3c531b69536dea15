namespace Virt.Fuzz.Tests;

public sealed class FuzzCommandLineTests
{
    [Fact]
    public void Options_written_for_a_child_parse_back_to_the_same_options()
    {
        var options = new FuzzCampaignOptions
        {
            FirstSeed = 123,
            InstructionTarget = 4_000_000,
            MaxGuests = 77,
            BudgetPerGuest = 9_999,
            Modes = [FuzzMode.Pae, FuzzMode.RealMode],
            Generators = [FuzzGenerator.RandomBytes],
            MachinePercent = 33,
            DeterminismCheckEvery = 5,
            IncludeVirtual8086 = false,
            IncludeSixteenBitPaging = false,
            DeviceMachines = 3,
            DeviceOperationsPerMachine = 500,
            MinimumHangTimeout = TimeSpan.FromSeconds(7),
            ReproducerDirectory = "out dir",
        };

        FuzzCampaignOptions parsed = FuzzCommandLine.Parse(FuzzCommandLine.ToArguments(options)).Options;

        Assert.Equal(FuzzCommandLine.ToArguments(options), FuzzCommandLine.ToArguments(parsed));
        Assert.Equal(options.Modes, parsed.Modes);
        Assert.Equal(options.CaseAt(5).Code, parsed.CaseAt(5).Code);
    }

    [Theory]
    [InlineData("--instructions", "2m", 2_000_000)]
    [InlineData("--instructions", "1g", 1_000_000_000)]
    [InlineData("--instructions", "1_500k", 1_500_000)]
    public void Counts_take_suffixes(string name, string value, long expected)
    {
        Assert.Equal(expected, FuzzCommandLine.Parse([name, value]).Options.InstructionTarget);
    }

    [Theory]
    [InlineData("--bogus", "--bogus")]
    [InlineData("--modes Real", "--modes")]
    [InlineData("--budget -5", "--budget")]
    [InlineData("--seed", "--seed")]
    public void A_bad_argument_is_named_in_the_error(string line, string named)
    {
        var e = Assert.Throws<ArgumentException>(() => FuzzCommandLine.Parse(line.Split(' ')));

        Assert.StartsWith(named, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Leaving_out_every_mode_is_rejected_naming_the_option()
    {
        var e = Assert.Throws<ArgumentException>(() => FuzzCommandLine.Parse(["--modes", "Virtual8086", "--no-v86"]));

        Assert.StartsWith("Modes", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Guests_cycle_through_the_modes_and_alternate_generators()
    {
        var options = new FuzzCampaignOptions { Modes = [FuzzMode.RealMode, FuzzMode.Pae], MachinePercent = 0 };

        FuzzCase[] cases = [.. Enumerable.Range(0, 4).Select(i => options.CaseAt(i))];

        Assert.Equal([FuzzMode.RealMode, FuzzMode.Pae, FuzzMode.RealMode, FuzzMode.Pae], cases.Select(c => c.Mode));
        Assert.Equal([FuzzGenerator.RandomBytes, FuzzGenerator.RandomBytes, FuzzGenerator.DecodableInstructions, FuzzGenerator.DecodableInstructions], cases.Select(c => c.Generator));
        Assert.Equal([1UL, 2UL, 3UL, 4UL], cases.Select(c => c.Seed));
        Assert.All(cases, c => Assert.Equal(FuzzLevel.Cpu, c.Level));
    }
}
