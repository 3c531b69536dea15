using BenchmarkDotNet.Running;

namespace Virt.Benchmarks;

/// <summary>Entry point: BenchmarkDotNet's switcher over every benchmark class in this assembly.</summary>
public static class Program
{
    /// <summary>Runs the benchmarks chosen on the command line (for example <c>--filter *MemoryMap*</c>).</summary>
    /// <param name="args">BenchmarkDotNet arguments.</param>
    public static void Main(string[] args) => BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
}
