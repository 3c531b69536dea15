using Virt.Cpu;
using Virt.Run.CommandLine;
using Xunit;

namespace Virt.Run.Tests;

/// <summary>
/// What <c>--compile-threshold</c> selects (how many interpreted entries precede a block's compilation) and
/// <c>--background-compile</c> (compiling on a background thread).
/// </summary>
public sealed class CompileThresholdOptionTests
{
    [Fact]
    public void TheLibraryDefaultIsTheDefault() =>
        Assert.Equal(CpuOptions.DefaultCompileThreshold, RunOptionsParser.Parse([]).CompileThreshold);

    [Theory]
    [InlineData("0", 0)]
    [InlineData("7", 7)]
    [InlineData("0x10", 16)]
    public void AThresholdCanBeChosen(string value, int expected) =>
        Assert.Equal(expected, RunOptionsParser.Parse(["--cpu-tier", "compiled", "--compile-threshold", value]).CompileThreshold);

    [Fact]
    public void BackgroundCompilationIsOffUnlessAsked()
    {
        Assert.False(RunOptionsParser.Parse(["--cpu-tier", "compiled"]).BackgroundCompilation);
        Assert.True(RunOptionsParser.Parse(["--cpu-tier", "compiled", "--background-compile"]).BackgroundCompilation);
    }

    [Theory]
    [InlineData("-1")]
    [InlineData("many")]
    [InlineData("4294967296")]
    public void ABadThresholdIsRejectedWithTheOptionNamed(string value)
    {
        var e = Assert.Throws<RunOptionsException>(() => RunOptionsParser.Parse(["--compile-threshold", value]));
        Assert.Contains("--compile-threshold", e.Message, StringComparison.Ordinal);
    }
}
