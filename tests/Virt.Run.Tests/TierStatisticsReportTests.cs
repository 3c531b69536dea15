using System.Globalization;
using System.Text.RegularExpressions;
using Virt.Cpu;
using Virt.Machine;
using Virt.Run.CommandLine;
using Xunit;

namespace Virt.Run.Tests;

/// <summary><c>--tier-stats</c>: the run's host time, retired instructions and the compiled tier's statistics on standard error.</summary>
public sealed partial class TierStatisticsReportTests
{
    [Fact]
    public void TheOptionIsOffByDefaultAndTurnedOnByName()
    {
        Assert.False(RunOptionsParser.Parse([]).TierStatistics);
        Assert.True(RunOptionsParser.Parse(["--tier-stats"]).TierStatistics);
    }

    [Fact]
    public void TheLineCarriesEveryFigureWithItsUnit()
    {
        var statistics = new CompiledTierStatistics(
            BlocksCompiled: 1234, CompileTime: TimeSpan.FromMilliseconds(56.78), IlBytes: 9999, CodeSizeInBytes: 777_777,
            CompiledBlocksLive: 1200, Evictions: 3, CompiledBlockEntries: 4_000_000, SideExits: 65_432);
        string line = TierStatisticsReport.Format(
            ExecutionTier.Compiled, TimeSpan.FromSeconds(2), 300_000_000, statistics, TimeSpan.FromMilliseconds(1500), 4321);

        Assert.Contains("tier=compiled ", line, StringComparison.Ordinal);
        Assert.Contains("host-time=2.000s ", line, StringComparison.Ordinal);
        Assert.Contains("instructions=300000000 ", line, StringComparison.Ordinal);
        Assert.Contains("mips=150.0 ", line, StringComparison.Ordinal); // 300 M instructions in 2 s
        Assert.Contains("blocks-compiled=1234 ", line, StringComparison.Ordinal);
        Assert.Contains("compile-time=56.8ms ", line, StringComparison.Ordinal);
        Assert.Contains("il-bytes=9999 ", line, StringComparison.Ordinal);
        Assert.Contains("code-cache=777777B ", line, StringComparison.Ordinal);
        Assert.Contains("live-blocks=1200 ", line, StringComparison.Ordinal);
        Assert.Contains("evictions=3 ", line, StringComparison.Ordinal);
        Assert.Contains("compiled-entries=4000000 ", line, StringComparison.Ordinal);
        Assert.Contains("side-exits=65432 ", line, StringComparison.Ordinal);
        Assert.Contains("runtime-jit-time=1500.0ms ", line, StringComparison.Ordinal);
        Assert.EndsWith("runtime-jit-methods=4321", line, StringComparison.Ordinal);
    }

    [Fact]
    public void AZeroHostTimeGivesZeroMipsInsteadOfInfinity()
    {
        string line = TierStatisticsReport.Format(ExecutionTier.Interpreter, TimeSpan.Zero, 10, default, TimeSpan.Zero, 0);
        Assert.Contains("tier=interpreter ", line, StringComparison.Ordinal);
        Assert.Contains("mips=0.0 ", line, StringComparison.Ordinal);
    }

    [Fact]
    public void ACompiledRunReportsTheBlocksItCompiled()
    {
        // JMP $ runs one block for ever: it is compiled once it passed the default threshold of 50 entries.
        (int code, _, string err) = VirtRunExitStatusTests.RunRom(TestRoms.Spin(), "--cpu-tier", "compiled", "--tier-stats", "--max-instructions", "100000");
        Assert.Equal(ProcessExitStatuses.LimitReached, code);
        Match m = Report().Match(err);
        Assert.True(m.Success, err);
        Assert.Equal("compiled", m.Groups["tier"].Value);
        Assert.True(long.Parse(m.Groups["instructions"].Value, CultureInfo.InvariantCulture) >= 100_000, m.Value);
        Assert.True(long.Parse(m.Groups["blocks"].Value, CultureInfo.InvariantCulture) >= 1, m.Value);
        Assert.True(long.Parse(m.Groups["entries"].Value, CultureInfo.InvariantCulture) > 1000, m.Value);
    }

    [Fact]
    public void AnInterpretedRunReportsNoCompiledBlocksAndWithoutTheOptionNothingIsPrinted()
    {
        (_, _, string err) = VirtRunExitStatusTests.RunRom(TestRoms.Spin(), "--tier-stats", "--max-instructions", "100000");
        Match m = Report().Match(err);
        Assert.True(m.Success, err);
        Assert.Equal("interpreter", m.Groups["tier"].Value);
        Assert.Equal("0", m.Groups["blocks"].Value);

        (_, _, string quiet) = VirtRunExitStatusTests.RunRom(TestRoms.Spin(), "--cpu-tier", "compiled", "--max-instructions", "100000");
        Assert.DoesNotContain("tier-stats", quiet, StringComparison.Ordinal);
    }

    [GeneratedRegex(@"tier-stats: tier=(?<tier>\w+) host-time=\S+ instructions=(?<instructions>\d+) .*blocks-compiled=(?<blocks>\d+) .*compiled-entries=(?<entries>\d+)")]
    private static partial Regex Report();
}
