using Xunit;
using Xunit.Abstractions;

namespace Virt.Cpu.Tests.Conformance;

/// <summary>
/// The SingleStepTests 80286 real-mode suite. Both tests read hardware-captured data that lives outside the repository
/// (<c>../shared/conformance/80286-real</c>), so both carry the Conformance category: the default test command passes on a
/// fresh clone with nothing beside it, and <c>.ci/run</c> runs them as an extra suite, where missing data fails loudly.
/// </summary>
public sealed class Sst286Tests(ITestOutputHelper output)
{
    /// <summary>Every 10th test of every file (about 3% of the visible suite): fast enough for the default run.</summary>
    [Fact]
    [Trait("Category", "Conformance")]
    public void Sampled_subset_passes() => RunSuite(stride: 10, writeReport: false);

    [Fact]
    [Trait("Category", "Conformance")]
    public void Full_suite_passes() => RunSuite(stride: 1, writeReport: true);

    private void RunSuite(int stride, bool writeReport)
    {
        string? directory = Sst286Suite.FindDirectory();
        // Missing data is a failure, never a vacuous pass: CI lays shared/ beside the clone.
        Assert.True(directory is not null, "SST286 data not found: set VIRT_SST286_DIR or keep shared/conformance/80286-real beside the repository.");

        var suite = new Sst286Suite(directory!);
        var failures = new List<string>();
        var results = new List<OpcodeResult>();
        foreach (string key in suite.Files())
        {
            results.Add(suite.RunFile(key, stride, failures, maxFailureMessages: 2000));
        }

        string report = Sst286Suite.FormatReport(results, out OpcodeResult total);
        report += "\nExcluded by reason: " + string.Join(", ", suite.ExclusionCounts.Select(p => $"{p.Key}={p.Value}")) + "\n";
        report += "Run against the modelled CPU's expectation: " + string.Join(", ", suite.ModelledCounts.Select(p => $"{p.Key}={p.Value}")) + "\n";
        CompiledTierStatistics compiled = suite.CompiledTierStatistics;
        report += $"Tier: {suite.ExecutionTier} ({compiled.BlocksCompiled} blocks compiled, {compiled.CompiledBlockEntries} compiled-block entries)\n";
        output.WriteLine(report);
        Console.WriteLine(report.Split('\n').Last(l => l.StartsWith("SST286", StringComparison.Ordinal)));
        Console.WriteLine(report.Split('\n').Last(l => l.StartsWith("Tier:", StringComparison.Ordinal)));
        foreach (string failure in failures)
        {
            output.WriteLine(failure);
        }

        string? reportPath = Environment.GetEnvironmentVariable("VIRT_SST286_REPORT");
        if (writeReport && !string.IsNullOrEmpty(reportPath))
        {
            File.WriteAllText(reportPath, report + string.Join('\n', failures) + "\n");
        }

        int run = total.Passed + total.Failed + total.KnownFailures;
        Assert.True(run > 0, $"no SST286 test ran from {directory}");

        // On the compiled tier (VIRT_TEST_CPU_TIER=compiled, threshold 0) the tests' code must really have run compiled, not
        // fallen back to the interpreter throughout.
        Assert.True(suite.ExecutionTier == ExecutionTier.Interpreter || compiled.CompiledBlockEntries > 0, $"the compiled tier ran no compiled block: {compiled}");

        // Every applicable test passes except the listed ones, each with its reason (TestData/Sst286KnownFailures.txt).
        Assert.True(total.Failed == 0, $"{total.Failed} failures not in {Sst286Suite.KnownFailuresFile} (or listed tests that pass now):\n{string.Join('\n', failures.Take(40))}");
        if (stride == 1)
        {
            string[] unseen = [.. suite.UnseenKnownFailures];
            Assert.True(unseen.Length == 0, $"{Sst286Suite.KnownFailuresFile} names tests the suite does not hold: {string.Join(", ", unseen)}");
        }

        Assert.True(total.Passed >= 0.995 * run, $"pass rate {100.0 * total.Passed / run:F2}% below 99.5%");
    }
}
