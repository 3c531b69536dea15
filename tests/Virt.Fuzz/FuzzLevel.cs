namespace Virt.Fuzz;

/// <summary>What a fuzzed guest runs on.</summary>
public enum FuzzLevel
{
    /// <summary>A bare <see cref="Virt.Cpu.Cpu"/> with RAM and an empty port space: fast.</summary>
    Cpu,

    /// <summary>A whole <see cref="Virt.Machine.Machine"/> of the default PC board, so port I/O and MMIO reach real devices.</summary>
    Machine,
}
