namespace Virt.Memory;

/// <summary>Options of a <see cref="PhysicalMemoryMap"/>.</summary>
public sealed record MemoryMapOptions
{
    /// <summary>
    /// When true, guest reads and writes of unmapped addresses throw <see cref="UnmappedAccessException"/>
    /// instead of being served as open bus. For tests that must notice stray accesses.
    /// </summary>
    public bool Strict { get; init; }

    /// <summary>The initial state of the A20 gate. PC hardware starts with A20 enabled on modern chipsets.</summary>
    public bool A20Enabled { get; init; } = true;
}
