using Virt.Cpu;
using Virt.Run.CommandLine;
using Xunit;

namespace Virt.Run.Tests;

/// <summary>What <c>--cpu-tier</c> selects: the CPU's execution tier.</summary>
public sealed class CpuTierOptionTests
{
    [Fact]
    public void TheInterpreterIsTheDefault() => Assert.Equal(ExecutionTier.Interpreter, RunOptionsParser.Parse([]).CpuTier);

    [Theory]
    [InlineData("interpreter", ExecutionTier.Interpreter)]
    [InlineData("compiled", ExecutionTier.Compiled)]
    public void EitherTierCanBeChosen(string value, ExecutionTier expected) =>
        Assert.Equal(expected, RunOptionsParser.Parse(["--cpu-tier", value]).CpuTier);

    [Fact]
    public void AnUnknownTierIsRejectedWithTheOptionNamed()
    {
        var e = Assert.Throws<RunOptionsException>(() => RunOptionsParser.Parse(["--cpu-tier", "jit"]));
        Assert.Contains("--cpu-tier", e.Message, StringComparison.Ordinal);
        Assert.Contains("jit", e.Message, StringComparison.Ordinal);
    }
}
