namespace Virt.Cpu;

/// <summary>Construction options of a <see cref="Cpu"/>.</summary>
public sealed record CpuOptions
{
    /// <summary>What CPUID reports (vendor, signature, brand, features); validated when the CPU is constructed.</summary>
    public CpuidModel Cpuid { get; init; } = CpuidModel.Default;

    /// <summary>The 12-character vendor string CPUID leaf 0 reports: shorthand for <see cref="CpuidModel.Vendor"/> of <see cref="Cpuid"/>.</summary>
    public string VendorString
    {
        get => Cpuid.Vendor;
        init => Cpuid = Cpuid with { Vendor = value };
    }

    /// <summary>
    /// Decode every instruction afresh instead of caching decoded blocks. Only for measuring the cache's benefit and
    /// for debugging the cache; guests behave identically but run several times slower.
    /// </summary>
    public bool DisableDecodeCache { get; init; }
}
