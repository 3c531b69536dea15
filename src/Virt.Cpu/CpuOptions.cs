namespace Virt.Cpu;

/// <summary>Construction options of a <see cref="Cpu"/>.</summary>
public sealed record CpuOptions
{
    /// <summary>The 12-character vendor string CPUID leaf 0 reports.</summary>
    public string VendorString { get; init; } = "GenuineIntel";

    /// <summary>
    /// Decode every instruction afresh instead of caching decoded blocks. Only for measuring the cache's benefit and
    /// for debugging the cache; guests behave identically but run several times slower.
    /// </summary>
    public bool DisableDecodeCache { get; init; }
}
