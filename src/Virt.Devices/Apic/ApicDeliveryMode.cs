namespace Virt.Devices;

/// <summary>
/// The delivery mode of an APIC interrupt message: bits 10:8 of an I/O APIC redirection entry, of the local APIC's ICR
/// and of its LINT0/LINT1 LVT entries (Intel SDM Vol. 3A, 10.5.1 and 10.6.1; 82093AA datasheet, 3.2.4).
/// </summary>
public enum ApicDeliveryMode
{
    /// <summary>000b: the vector, to every destination.</summary>
    Fixed = 0,

    /// <summary>001b: the vector, to the destination processor of lowest priority.</summary>
    LowestPriority = 1,

    /// <summary>010b: a system management interrupt (not emulated: Virt has no SMM).</summary>
    Smi = 2,

    /// <summary>100b: a non-maskable interrupt; the vector is ignored.</summary>
    Nmi = 4,

    /// <summary>101b: INIT (not emulated for the one CPU; see docs/apic.md).</summary>
    Init = 5,

    /// <summary>110b: start-up IPI (ICR only; not emulated for the one CPU).</summary>
    StartUp = 6,

    /// <summary>111b: external interrupt: the processor runs an INTA cycle to the 8259A, which supplies the vector.</summary>
    ExtInt = 7,
}
