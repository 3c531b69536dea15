using Virt.Cpu;
using Virt.Memory;
using X86Cpu = Virt.Cpu.Cpu;

namespace Virt.Fuzz.Tests;

/// <summary>
/// Fuzz findings of the compiled tier (<c>Virt.Fuzz --compiled-tier</c>, which compiles blocks at their second entry).
/// </summary>
public sealed class CompiledTierRegressionTests
{
    /// <summary>The budget the campaign gives each guest.</summary>
    private const long Budget = 50_000;

    /// <summary>
    /// Guest seed 1087 of <c>--seed 11</c> (Protected32Paging, RandomBytes): random code entered at hundreds of places, each
    /// a 64-instruction block left after a few instructions. Compiled at every second entry, its 50,000 instructions made
    /// 4,280 blocks and 14.9 MB of IL, about 30 s of the JIT's time, so Run did not return within the watchdog's time. Now
    /// compiling waits for the work of whole runs of the block and is rate-limited: it must end in the interpreter's state
    /// with a small fraction of that IL.
    /// </summary>
    [Fact]
    public void Random_code_entered_at_many_places_compiles_little_and_ends_as_the_interpreter_does()
    {
        FuzzCase guest = FuzzCase.Generate(1087, FuzzMode.Protected32Paging, FuzzGenerator.RandomBytes, FuzzLevel.Cpu, Budget);

        GuestOutcome interpreted = GuestRunner.Run(guest, fingerprint: true);
        GuestOutcome compiled = GuestRunner.Run(guest, fingerprint: true, compiledTier: true);
        Assert.Null(compiled.HostException);
        Assert.Equal(interpreted.Stop, compiled.Stop);
        Assert.Equal(interpreted.RetiredInstructions, compiled.RetiredInstructions);
        Assert.Equal(interpreted.Fingerprint, compiled.Fingerprint);

        CompiledTierStatistics statistics = CompiledStatistics(guest);
        Assert.True(statistics.BlocksCompiled > 0, "nothing was compiled");
        Assert.True(statistics.IlBytes < 1024 * 1024, $"{statistics.BlocksCompiled} blocks, {statistics.IlBytes} IL bytes compiled for {Budget} instructions");
    }

    /// <summary>The run of <see cref="GuestRunner"/> on a bare CPU with the campaign's compiled-tier options, for its statistics.</summary>
    private static CompiledTierStatistics CompiledStatistics(FuzzCase guest)
    {
        PhysicalMemoryMap memory = new PhysicalMemoryMapBuilder()
            .AddRam("low", new PhysicalAddress(0), GuestLayout.LowRamSizeInBytes)
            .AddRam("high", new PhysicalAddress(0x100000), GuestLayout.HighRamSizeInBytes)
            .Build();
        var cpu = new X86Cpu(memory, new IoPortSpace(), options: new CpuOptions { ExecutionTier = ExecutionTier.Compiled, CompileThreshold = 1 });
        GuestEnvironment.Apply(memory, cpu, guest);
        Assert.Equal(StopReason.BudgetExhausted, cpu.Run(guest.Budget));
        return cpu.CompiledTierStatistics;
    }
}
