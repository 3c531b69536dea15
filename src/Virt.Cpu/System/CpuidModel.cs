using System.Text;

namespace Virt.Cpu;

/// <summary>
/// What CPUID reports (Intel SDM Vol. 2A, CPUID): the vendor, the family/model/stepping signature, the brand string and the
/// feature flags of leaves 1 and 80000001h. <see cref="Default"/> describes exactly what the CPU implements; a custom model
/// may claim less (software then avoids the feature) or more (software may then use something that is not there).
/// </summary>
public sealed record CpuidModel
{
    /// <summary>CPUID.1:EDX bits of the default model: FPU, VME, DE, PSE, TSC, MSR, PAE, CX8, SEP, PGE, CMOV, MMX, FXSR, SSE, SSE2.</summary>
    public const uint DefaultFeaturesEdx =
        (1u << 0) | (1u << 1) | (1u << 2) | (1u << 3) | (1u << 4) | (1u << 5) | (1u << 6) | (1u << 8) | (1u << 11) | (1u << 13) | (1u << 15)
        | MmxFeatureEdx | (1u << 24) | SseFeaturesEdx;

    /// <summary>CPUID.1:EDX bit 23, MMX: the MMX registers and instructions.</summary>
    public const uint MmxFeatureEdx = 1u << 23;

    /// <summary>CPUID.1:ECX bits of the default model: SSE3 (bit 0), SSSE3 (bit 9), SSE4.1 (bit 19), SSE4.2 (bit 20), POPCNT (bit 23), XSAVE (bit 26).</summary>
    public const uint DefaultFeaturesEcx = SseFeaturesEcx | Ssse3FeatureEcx | Sse42FeatureEcx | PopcntFeatureEcx | XsaveFeatureEcx;

    /// <summary>CPUID.1:ECX bit 9, SSSE3.</summary>
    public const uint Ssse3FeatureEcx = 1u << 9;

    /// <summary>CPUID.1:ECX bit 20, SSE4.2 (PCMPxSTRx, PCMPGTQ, CRC32).</summary>
    public const uint Sse42FeatureEcx = 1u << 20;

    /// <summary>CPUID.1:ECX bit 23, POPCNT.</summary>
    public const uint PopcntFeatureEcx = 1u << 23;

    /// <summary>CPUID.1:EDX bits 25 (SSE) and 26 (SSE2).</summary>
    public const uint SseFeaturesEdx = (1u << 25) | (1u << 26);

    /// <summary>CPUID.1:ECX bits 0 (SSE3) and 19 (SSE4.1).</summary>
    public const uint SseFeaturesEcx = (1u << 0) | (1u << 19);

    /// <summary>CPUID.1:ECX bit 26, XSAVE: XSAVE/XRSTOR/XGETBV/XSETBV for the x87 and SSE components, and CPUID leaf 0Dh.</summary>
    public const uint XsaveFeatureEcx = 1u << 26;

    /// <summary>CPUID.1:EDX bit 9, APIC: an on-chip local APIC (a board with one adds it to the model it gives the CPU).</summary>
    public const uint ApicFeatureEdx = 1u << 9;

    /// <summary>CPUID.1:ECX bit 24, TSC-deadline: the local APIC timer supports the IA32_TSC_DEADLINE mode (Intel SDM Vol. 3A, 10.5.4.1).</summary>
    public const uint TscDeadlineFeatureEcx = 1u << 24;

    /// <summary>CPUID.80000001h:EDX bits of the default model: NX (bit 20), the execute-disable bit of PAE paging.</summary>
    public const uint DefaultExtendedFeaturesEdx = 1u << 20;

    /// <summary>The model the CPU uses unless told otherwise: a P6-class (family 6, model 1, stepping 9) "GenuineIntel".</summary>
    public static CpuidModel Default { get; } = new();

    /// <summary>The 12-character ASCII vendor string of leaf 0 (EBX, EDX, ECX).</summary>
    public string Vendor { get; init; } = "GenuineIntel";

    /// <summary>The family (0-270: above 15 the base field reads 0Fh and the extended family holds the rest).</summary>
    public int Family { get; init; } = 6;

    /// <summary>The model (0-15, or 0-255 for families 6 and 15 and above, which use the extended model field).</summary>
    public int Model { get; init; } = 1;

    /// <summary>The stepping (0-15).</summary>
    public int Stepping { get; init; } = 9;

    /// <summary>The processor brand string of leaves 80000002h-80000004h (ASCII, at most 48 characters, NUL-padded).</summary>
    public string Brand { get; init; } = "Virt P6-class CPU";

    /// <summary>CPUID.1:EDX feature flags.</summary>
    public uint FeaturesEdx { get; init; } = DefaultFeaturesEdx;

    /// <summary>CPUID.1:ECX feature flags (<see cref="DefaultFeaturesEcx"/> by default).</summary>
    public uint FeaturesEcx { get; init; } = DefaultFeaturesEcx;

    /// <summary>CPUID.80000001h:EDX extended feature flags.</summary>
    public uint ExtendedFeaturesEdx { get; init; } = DefaultExtendedFeaturesEdx;

    /// <summary>CPUID.80000001h:ECX extended feature flags.</summary>
    public uint ExtendedFeaturesEcx { get; init; }

    /// <summary>
    /// The signature of CPUID.1:EAX (and EDX after reset): stepping in bits 0-3, model 4-7, family 8-11, extended model
    /// 16-19, extended family 20-27 (Intel SDM Vol. 2A, CPUID, Figure 3-6).
    /// </summary>
    public uint Signature
    {
        get
        {
            uint family = Family > 15 ? 15u : (uint)Family;
            uint extendedFamily = Family > 15 ? (uint)(Family - 15) : 0;
            return (uint)Stepping | ((uint)(Model & 0xF) << 4) | (family << 8) | ((uint)(Model >> 4) << 16) | (extendedFamily << 20);
        }
    }

    /// <summary>Checks every field; the CPU does this when it is constructed.</summary>
    /// <exception cref="ArgumentException">Naming the first invalid field.</exception>
    public void Validate()
    {
        if (Vendor is null || Vendor.Length != 12 || !IsAscii(Vendor))
        {
            throw new ArgumentException($"The CPUID vendor string must be exactly 12 ASCII characters, got \"{Vendor}\".", nameof(Vendor));
        }

        if (Brand is null || Brand.Length > 48 || !IsAscii(Brand))
        {
            throw new ArgumentException($"The CPUID brand string must be at most 48 ASCII characters, got \"{Brand}\".", nameof(Brand));
        }

        if (Family is < 0 or > 15 + 255)
        {
            throw new ArgumentException($"The CPUID family must be 0-270, got {Family}.", nameof(Family));
        }

        if (Model < 0 || Model > (Family is 6 or >= 15 ? 255 : 15))
        {
            throw new ArgumentException($"The CPUID model must be 0-15 (0-255 for family 6 or 15 and above), got {Model}.", nameof(Model));
        }

        if (Stepping is < 0 or > 15)
        {
            throw new ArgumentException($"The CPUID stepping must be 0-15, got {Stepping}.", nameof(Stepping));
        }
    }

    /// <summary>Four characters of a string as a little-endian register value (NUL beyond its end).</summary>
    internal static uint Word(string text, int index)
    {
        uint value = 0;
        for (int i = 0; i < 4; i++)
        {
            int c = index + i < text.Length ? text[index + i] : 0;
            value |= (uint)(byte)c << (8 * i);
        }

        return value;
    }

    private static bool IsAscii(string text) => Ascii.IsValid(text);
}
