namespace Virt.Devices;

/// <summary>Construction options of a <see cref="LocalApic"/>.</summary>
public sealed record LocalApicOptions
{
    /// <summary>The APIC ID at reset (bits 31:24 of the ID register, and CPUID.1:EBX[31:24] of its processor). Default 0.</summary>
    public byte ApicId { get; init; }

    /// <summary>Whether this is the bootstrap processor's APIC (bit 8 of IA32_APIC_BASE). Default true: the board's one CPU.</summary>
    public bool IsBootstrapProcessor { get; init; } = true;

    /// <summary>
    /// Whether the APIC implements x2APIC mode (IA32_APIC_BASE bit 10, the MSRs 800h-8FFh; Intel SDM Vol. 3A, 11.12), as
    /// a processor reporting CPUID.1:ECX bit 21 does. Default false: the enable bit is refused with #GP(0).
    /// </summary>
    public bool X2ApicSupported { get; init; }
}
