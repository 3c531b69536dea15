using System.Globalization;
using Xunit.Abstractions;

namespace Virt.Fuzz.Tests;

/// <summary>
/// The longer campaign .ci/extra-suites runs: guests in child processes (a crash is counted and its seed reported), its
/// size from VIRT_FUZZ_INSTRUCTIONS (default a small one, so the default suite stays fast), the seed from VIRT_FUZZ_SEED,
/// and VIRT_FUZZ_TIER=compiled runs the guests on the compiled execution tier (Virt.Fuzz <c>--compiled-tier</c>).
/// </summary>
public sealed class LongCampaignTests(ITestOutputHelper output)
{
    private const long DefaultInstructions = 1_000_000;

    [Fact]
    [Trait("Category", "Fuzz")]
    public void Long_campaign_in_child_processes_has_no_finding()
    {
        long instructions = FromEnvironment("VIRT_FUZZ_INSTRUCTIONS", DefaultInstructions);
        ulong seed = (ulong)FromEnvironment("VIRT_FUZZ_SEED", 5_000_000);
        string reproducers = Path.Combine(Path.GetTempPath(), "virt-fuzz-reproducers", seed.ToString(CultureInfo.InvariantCulture));
        var options = new FuzzCampaignOptions
        {
            FirstSeed = seed,
            InstructionTarget = instructions,
            DeviceMachines = instructions >= 100_000_000 ? 20 : 2,
            MinimumHangTimeout = TimeSpan.FromSeconds(30),
            ReproducerDirectory = reproducers,
            CompiledTier = CompiledTierFromEnvironment(),
        };

        FuzzSummary summary = new ChildProcessCampaign(options, batchGuests: 1000, parallel: 2).Run();

        output.WriteLine($"tier: {(options.CompiledTier ? "compiled" : "interpreter")}");
        output.WriteLine(summary.Format());
        output.WriteLine($"reproducers (if any): {reproducers}");
        // A crashed child is reported with its seed and the campaign goes on to the end; any finding fails the test.
        Assert.True(summary.FindingCount == 0 && summary.AbortReason is null, summary.Format());
        Assert.True(summary.Instructions >= instructions, summary.Format());
    }

    private static bool CompiledTierFromEnvironment() => Environment.GetEnvironmentVariable("VIRT_FUZZ_TIER") switch
    {
        null or "" or "interpreter" => false,
        "compiled" => true,
        string other => throw new InvalidOperationException($"VIRT_FUZZ_TIER: '{other}' is not a tier (interpreter, compiled)"),
    };

    private static long FromEnvironment(string name, long fallback) =>
        Environment.GetEnvironmentVariable(name) is { Length: > 0 } text
            ? long.Parse(text, NumberStyles.None, CultureInfo.InvariantCulture)
            : fallback;
}
