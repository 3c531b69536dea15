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

    /// <summary>The MSRs implemented outside the CPU (a board's local APIC), asked for every MSR the CPU does not implement; null for none.</summary>
    public IMsrHandler? MsrHandler { get; init; }

    /// <summary>The default of <see cref="DecodeCacheBudgetInBytes"/>: 64 MiB.</summary>
    public const long DefaultDecodeCacheBudgetInBytes = 64L * 1024 * 1024;

    /// <summary>
    /// The smallest accepted <see cref="DecodeCacheBudgetInBytes"/>: 256 KiB, room for about a hundred of the largest blocks
    /// (64 instructions each), so that a budget this small still lets loops run from the cache.
    /// </summary>
    public const long MinimumDecodeCacheBudgetInBytes = 256L * 1024;

    /// <summary>
    /// The most host memory, in bytes, the CPU's decode cache may hold (by its own estimate, see
    /// <see cref="Cpu.DecodeCacheSizeInBytes"/>). When a newly decoded block would take the cache over the budget, every
    /// cached block is evicted and decoding starts afresh (see <see cref="Cpu.DecodeCacheEvictions"/>), so a guest cannot
    /// grow host memory by running ever more distinct code. Default <see cref="DefaultDecodeCacheBudgetInBytes"/>.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">When set below <see cref="MinimumDecodeCacheBudgetInBytes"/>.</exception>
    public long DecodeCacheBudgetInBytes
    {
        get => _decodeCacheBudgetInBytes;
        init
        {
            if (value < MinimumDecodeCacheBudgetInBytes)
            {
                throw new ArgumentOutOfRangeException(
                    nameof(DecodeCacheBudgetInBytes),
                    value,
                    $"CpuOptions.DecodeCacheBudgetInBytes must be at least {MinimumDecodeCacheBudgetInBytes} bytes (256 KiB); it was {value}.");
            }

            _decodeCacheBudgetInBytes = value;
        }
    }

    private readonly long _decodeCacheBudgetInBytes = DefaultDecodeCacheBudgetInBytes;
}
