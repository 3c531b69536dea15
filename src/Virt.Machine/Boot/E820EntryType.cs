namespace Virt.Machine.Boot;

/// <summary>
/// The type of an e820 memory map entry, as the BIOS INT 15h, AX=E820h service reports it
/// (ACPI 6.5, 15.1 "INT 15H, E820H - Query System Address Map"). Multiboot uses the same numbers
/// for its memory map.
/// </summary>
public enum E820EntryType
{
    /// <summary>Usable RAM (AddressRangeMemory).</summary>
    Ram = 1,

    /// <summary>Reserved, not usable (AddressRangeReserved).</summary>
    Reserved = 2,

    /// <summary>ACPI tables, reclaimable once read (AddressRangeACPI).</summary>
    Acpi = 3,

    /// <summary>ACPI non-volatile storage (AddressRangeNVS).</summary>
    Nvs = 4,

    /// <summary>Memory with detected errors (AddressRangeUnusable).</summary>
    Unusable = 5,
}
