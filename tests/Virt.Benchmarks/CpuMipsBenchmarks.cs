using BenchmarkDotNet.Attributes;
using Virt.Cpu;

namespace Virt.Benchmarks;

/// <summary>BenchmarkDotNet view of the guest MIPS workloads (the console mode <c>-- mips</c> gives instructions per second directly).</summary>
[MemoryDiagnoser]
public class CpuMipsBenchmarks
{
    private const uint Iterations = 1_000_000;
    private byte[] _alu = [];
    private byte[] _mixed = [];

    /// <summary>Whether the decode cache is used.</summary>
    [Params(true, false)]
    public bool DecodeCache { get; set; }

    /// <summary>Builds the guest programs.</summary>
    [GlobalSetup]
    public void Setup()
    {
        _alu = GuestPrograms.AluBranchLoop(DecodeCache ? Iterations : Iterations / 50);
        _mixed = GuestPrograms.MixedLoop(DecodeCache ? Iterations / 10 : Iterations / 500);
    }

    /// <summary>The ALU/branch loop to its HLT.</summary>
    /// <returns>Retired instructions.</returns>
    [Benchmark]
    public long AluBranch() => RunToHalt(_alu);

    /// <summary>The mixed loop to its HLT.</summary>
    /// <returns>Retired instructions.</returns>
    [Benchmark]
    public long Mixed() => RunToHalt(_mixed);

    private long RunToHalt(byte[] code)
    {
        Cpu.Cpu cpu = GuestPrograms.CreateMachine(code, new CpuOptions { DisableDecodeCache = !DecodeCache });
        while (cpu.Run(1_000_000) == StopReason.BudgetExhausted)
        {
        }

        return cpu.RetiredInstructions;
    }
}
