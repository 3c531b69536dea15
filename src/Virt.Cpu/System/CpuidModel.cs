using System.Text;

namespace Virt.Cpu;

/// <summary>
/// What CPUID reports (Intel SDM Vol. 2A, CPUID): the vendor, the family/model/stepping signature, the brand string and the
/// feature flags of leaves 1 and 80000001h. <see cref="Default"/> describes exactly what the CPU implements (an x86-64
/// CPU); <see cref="P6"/> is the 32-bit model of earlier versions, for 32-bit guests. A custom model may claim less
/// (software then avoids the feature) or more (software may then use something that is not there).
/// </summary>
public sealed record CpuidModel
{
    /// <summary>CPUID.1:EDX bits of the 32-bit <see cref="P6"/> model: FPU, VME, DE, PSE, TSC, MSR, PAE, CX8, SEP, PGE, CMOV, FXSR.</summary>
    public const uint P6FeaturesEdx =
        (1u << 0) | (1u << 1) | (1u << 2) | (1u << 3) | (1u << 4) | (1u << 5) | (1u << 6) | (1u << 8) | (1u << 11) | (1u << 13) | (1u << 15) | (1u << 24);

    /// <summary>CPUID.1:EDX bit 23, MMX: the MMX registers and instructions.</summary>
    public const uint MmxFeatureEdx = 1u << 23;

    /// <summary>CPUID.1:EDX bit 25, SSE.</summary>
    public const uint SseFeatureEdx = 1u << 25;

    /// <summary>CPUID.1:EDX bit 26, SSE2.</summary>
    public const uint Sse2FeatureEdx = 1u << 26;

    /// <summary>CPUID.1:EDX bits 25 (SSE) and 26 (SSE2).</summary>
    public const uint SseFeaturesEdx = SseFeatureEdx | Sse2FeatureEdx;

    /// <summary>
    /// CPUID.1:EDX bits of the default (x86-64) model: those of <see cref="P6FeaturesEdx"/> plus MMX, SSE and SSE2, which every
    /// x86-64 processor has (AMD64 Architecture Programmer's Manual Vol. 1, 1.1; the x86-64 psABI baseline).
    /// </summary>
    public const uint DefaultFeaturesEdx = P6FeaturesEdx | MmxFeatureEdx | SseFeaturesEdx;

    /// <summary>CPUID.1:ECX bit 9, SSSE3.</summary>
    public const uint Ssse3FeatureEcx = 1u << 9;

    /// <summary>CPUID.1:ECX bit 20, SSE4.2 (PCMPxSTRx, PCMPGTQ, CRC32).</summary>
    public const uint Sse42FeatureEcx = 1u << 20;

    /// <summary>CPUID.1:ECX bit 23, POPCNT.</summary>
    public const uint PopcntFeatureEcx = 1u << 23;

    /// <summary>CPUID.1:ECX bits 0 (SSE3) and 19 (SSE4.1).</summary>
    public const uint SseFeaturesEcx = (1u << 0) | (1u << 19);

    /// <summary>CPUID.1:ECX bit 26, XSAVE: XSAVE/XRSTOR/XGETBV/XSETBV for the x87 and SSE components, and CPUID leaf 0Dh.</summary>
    public const uint XsaveFeatureEcx = 1u << 26;

    /// <summary>CPUID.1:ECX bit 13, CMPXCHG16B.</summary>
    public const uint Cx16FeatureEcx = 1u << 13;

    /// <summary>
    /// CPUID.1:ECX bits of the default model: SSE3 (bit 0), SSSE3 (bit 9), CMPXCHG16B (bit 13), SSE4.1 (bit 19), SSE4.2
    /// (bit 20), POPCNT (bit 23), XSAVE (bit 26).
    /// </summary>
    public const uint DefaultFeaturesEcx = SseFeaturesEcx | Ssse3FeatureEcx | Cx16FeatureEcx | Sse42FeatureEcx | PopcntFeatureEcx | XsaveFeatureEcx;

    /// <summary>CPUID.80000001h:EDX bit 11, SYSCALL/SYSRET in 64-bit mode.</summary>
    public const uint SyscallFeatureEdx = 1u << 11;

    /// <summary>CPUID.80000001h:EDX bit 20, NX: the execute-disable bit of PAE and 4-level paging.</summary>
    public const uint NxFeatureEdx = 1u << 20;

    /// <summary>CPUID.80000001h:EDX bit 27, RDTSCP and IA32_TSC_AUX.</summary>
    public const uint RdtscpFeatureEdx = 1u << 27;

    /// <summary>CPUID.80000001h:EDX bit 29, LM: Intel 64 architecture (IA-32e mode).</summary>
    public const uint LongModeFeatureEdx = 1u << 29;

    /// <summary>CPUID.80000001h:ECX bit 0, LAHF/SAHF available in 64-bit mode.</summary>
    public const uint LahfFeatureEcx = 1u << 0;

    /// <summary>CPUID.1:EDX bit 9, APIC: an on-chip local APIC (a board with one adds it to the model it gives the CPU).</summary>
    public const uint ApicFeatureEdx = 1u << 9;

    /// <summary>CPUID.1:ECX bit 24, TSC-deadline: the local APIC timer supports the IA32_TSC_DEADLINE mode (Intel SDM Vol. 3A, 10.5.4.1).</summary>
    public const uint TscDeadlineFeatureEcx = 1u << 24;

    /// <summary>
    /// CPUID.1:ECX bit 21, x2APIC: the local APIC supports x2APIC mode (Intel SDM Vol. 3A, 11.12). A board with a local
    /// APIC implements it when the model reports it; a board without one clears the bit.
    /// </summary>
    public const uint X2ApicFeatureEcx = 1u << 21;

    /// <summary>CPUID.80000001h:EDX bit 26, Page1GB: 1-GByte pages in 4-level paging (Intel SDM Vol. 3A, 4.5.4).</summary>
    public const uint Page1GbFeatureEdx = 1u << 26;

    /// <summary>CPUID.1:ECX bit 17, PCID: CR4.PCIDE and process-context identifiers (Intel SDM Vol. 3A, 4.10.1).</summary>
    public const uint PcidFeatureEcx = 1u << 17;

    /// <summary>CPUID.(EAX=07h,ECX=0):EBX bit 10, INVPCID (Intel SDM Vol. 2B, INVPCID).</summary>
    public const uint InvpcidFeatureEbx = 1u << 10;

    /// <summary>CPUID.(EAX=07h,ECX=0):EBX bit 0, FSGSBASE: RDFSBASE, RDGSBASE, WRFSBASE, WRGSBASE and CR4.FSGSBASE.</summary>
    public const uint FsgsbaseFeatureEbx = 1u << 0;

    /// <summary>CPUID.(EAX=07h,ECX=0):EBX bits of the default model: FSGSBASE.</summary>
    public const uint DefaultStructuredExtendedFeaturesEbx = FsgsbaseFeatureEbx;

    /// <summary>The physical-address width (MAXPHYADDR) of the default model, as CPUID.80000008h:EAX[7:0] reports it.</summary>
    public const int DefaultPhysicalAddressBits = 40;

    /// <summary>The smallest MAXPHYADDR: 36 bits, what a CPU with PAE and no leaf 80000008h has (Intel SDM Vol. 3A, 4.1.4).</summary>
    public const int MinPhysicalAddressBits = 36;

    /// <summary>The largest MAXPHYADDR the paging-structure formats allow: 52 bits (Intel SDM Vol. 3A, 4.1.4).</summary>
    public const int MaxPhysicalAddressBits = 52;


    /// <summary>CPUID.80000001h:EDX bits of the default model: SYSCALL, NX, Page1GB, RDTSCP and LM.</summary>
    public const uint DefaultExtendedFeaturesEdx = SyscallFeatureEdx | NxFeatureEdx | Page1GbFeatureEdx | RdtscpFeatureEdx | LongModeFeatureEdx;

    /// <summary>CPUID.80000001h:ECX bits of the default model: LAHF/SAHF in 64-bit mode.</summary>
    public const uint DefaultExtendedFeaturesEcx = LahfFeatureEcx;

    /// <summary>CPUID.80000001h:EDX bits of the <see cref="P6"/> model: NX (bit 20) only.</summary>
    public const uint P6ExtendedFeaturesEdx = NxFeatureEdx;

    /// <summary>
    /// The model the CPU uses unless told otherwise: an x86-64 "GenuineIntel" of family 6, model 15 (the first Core 2
    /// generation, the oldest Intel 64 family-6 part), with IA-32e mode, SYSCALL, NX, RDTSCP, LAHF in 64-bit mode and
    /// FSGSBASE.
    /// </summary>
    public static CpuidModel Default { get; } = new();

    /// <summary>
    /// The 32-bit model of earlier versions: a P6-class (family 6, model 1, stepping 9) "GenuineIntel" without long mode,
    /// SSE or the CPUID leaves above 2 and 80000004h. The CPU still implements everything; the model only hides it.
    /// </summary>
    public static CpuidModel P6 { get; } = new()
    {
        Model = 1,
        Stepping = 9,
        Brand = "Virt P6-class CPU",
        FeaturesEdx = P6FeaturesEdx,
        FeaturesEcx = 0,
        ExtendedFeaturesEdx = P6ExtendedFeaturesEdx,
        ExtendedFeaturesEcx = 0,
        StructuredExtendedFeaturesEbx = 0,
        MaxBasicLeaf = 2,
        MaxExtendedLeaf = 0x8000_0004,
    };

    /// <summary>The 12-character ASCII vendor string of leaf 0 (EBX, EDX, ECX).</summary>
    public string Vendor { get; init; } = "GenuineIntel";

    /// <summary>The family (0-270: above 15 the base field reads 0Fh and the extended family holds the rest).</summary>
    public int Family { get; init; } = 6;

    /// <summary>The model (0-15, or 0-255 for families 6 and 15 and above, which use the extended model field).</summary>
    public int Model { get; init; } = 15;

    /// <summary>The stepping (0-15).</summary>
    public int Stepping { get; init; } = 11;

    /// <summary>The processor brand string of leaves 80000002h-80000004h (ASCII, at most 48 characters, NUL-padded).</summary>
    public string Brand { get; init; } = "Virt x86-64 CPU";

    /// <summary>The highest basic leaf (CPUID.0:EAX): 0Dh for the default model, whose leaf 0Dh describes the XSAVE area.</summary>
    public uint MaxBasicLeaf { get; init; } = XsaveLeaf;

    /// <summary>The highest extended leaf (CPUID.80000000h:EAX): 80000008h, which reports the address widths.</summary>
    public uint MaxExtendedLeaf { get; init; } = 0x8000_0008;

    /// <summary>CPUID.1:EDX feature flags.</summary>
    public uint FeaturesEdx { get; init; } = DefaultFeaturesEdx;

    /// <summary>CPUID.1:ECX feature flags (<see cref="DefaultFeaturesEcx"/> by default).</summary>
    public uint FeaturesEcx { get; init; } = DefaultFeaturesEcx;

    /// <summary>CPUID.80000001h:EDX extended feature flags.</summary>
    public uint ExtendedFeaturesEdx { get; init; } = DefaultExtendedFeaturesEdx;

    /// <summary>CPUID.80000001h:ECX extended feature flags.</summary>
    public uint ExtendedFeaturesEcx { get; init; } = DefaultExtendedFeaturesEcx;

    /// <summary>Whether the model advertises IA-32e mode (EFER.LME can then be set).</summary>
    public bool HasLongMode => (ExtendedFeaturesEdx & LongModeFeatureEdx) != 0;

    /// <summary>
    /// CPUID.(EAX=07h,ECX=0):EBX structured extended feature flags (<see cref="DefaultStructuredExtendedFeaturesEbx"/>:
    /// FSGSBASE, by default). INVPCID (<see cref="InvpcidFeatureEbx"/>) and the FSGSBASE instructions raise #UD unless this
    /// advertises them (and the maximum basic leaf reaches 7).
    /// </summary>
    public uint StructuredExtendedFeaturesEbx { get; init; } = DefaultStructuredExtendedFeaturesEbx;

    /// <summary>Whether leaf 7 is reachable (maximum basic leaf 7 or above) and its EBX has <paramref name="ebxBit"/>.</summary>
    internal bool Advertises(uint ebxBit) => MaxBasicLeaf >= StructuredExtendedFeaturesLeaf && (StructuredExtendedFeaturesEbx & ebxBit) != 0;

    /// <summary>CPUID leaf 07h: the structured extended feature flags.</summary>
    public const uint StructuredExtendedFeaturesLeaf = 7;

    /// <summary>
    /// MAXPHYADDR, the physical-address width (CPUID.80000008h:EAX[7:0]): paging-structure entry bits from it up to bit 51
    /// are reserved, and a set one is a #PF with RSVD (Intel SDM Vol. 3A, 4.1.4 and 4.7). 36-52.
    /// </summary>
    public int PhysicalAddressBits { get; init; } = DefaultPhysicalAddressBits;

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

        if (PhysicalAddressBits is < MinPhysicalAddressBits or > MaxPhysicalAddressBits)
        {
            throw new ArgumentException(
                $"The CPUID physical-address width must be {MinPhysicalAddressBits}-{MaxPhysicalAddressBits} bits, got {PhysicalAddressBits}.", nameof(PhysicalAddressBits));
        }

        if (Stepping is < 0 or > 15)
        {
            throw new ArgumentException($"The CPUID stepping must be 0-15, got {Stepping}.", nameof(Stepping));
        }

        if (MaxBasicLeaf is < 1 or > MaxSupportedBasicLeaf)
        {
            throw new ArgumentException($"The CPUID maximum basic leaf must be 1-{MaxSupportedBasicLeaf:X}h, got {MaxBasicLeaf:X}h.", nameof(MaxBasicLeaf));
        }

        if ((FeaturesEcx & XsaveFeatureEcx) != 0 && MaxBasicLeaf < XsaveLeaf)
        {
            throw new ArgumentException(
                $"A CPUID model that advertises XSAVE needs leaf 0Dh (the XSAVE area's layout): the maximum basic leaf must be at least 0Dh, got {MaxBasicLeaf:X}h.", nameof(MaxBasicLeaf));
        }

        if (MaxExtendedLeaf is < 0x8000_0001 or > MaxSupportedExtendedLeaf)
        {
            throw new ArgumentException(
                $"The CPUID maximum extended leaf must be 80000001h-{MaxSupportedExtendedLeaf:X}h, got {MaxExtendedLeaf:X}h.", nameof(MaxExtendedLeaf));
        }
    }

    /// <summary>The highest basic leaf the CPU can answer: 0Dh, the XSAVE state components.</summary>
    public const uint MaxSupportedBasicLeaf = XsaveLeaf;

    /// <summary>CPUID leaf 0Dh: the processor extended state enumeration (Intel SDM Vol. 2A, CPUID, Table 3-8).</summary>
    public const uint XsaveLeaf = 0xD;

    /// <summary>The highest extended leaf the CPU can answer.</summary>
    public const uint MaxSupportedExtendedLeaf = 0x8000_0008;

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
