namespace Virt.Devices;

/// <summary>
/// Offsets of the PC CMOS bytes this library fills or that firmware commonly reads (IBM AT layout as SeaBIOS, QEMU
/// and Linux use it). Bytes 00h-0Dh are the MC146818 clock registers; 0Eh-7Fh are battery-backed RAM.
/// </summary>
public static class CmosLayout
{
    /// <summary>Register A: UIP (bit 7), divider DV2-0 (6-4), rate select RS3-0 (3-0).</summary>
    public const int RegisterA = 0x0A;

    /// <summary>Register B: SET, PIE, AIE, UIE, SQWE, DM (1 = binary), 24/12 (1 = 24 h), DSE.</summary>
    public const int RegisterB = 0x0B;

    /// <summary>Register C (read-only, cleared by reading): IRQF, PF, AF, UF.</summary>
    public const int RegisterC = 0x0C;

    /// <summary>Register D (read-only): VRT, valid RAM and time.</summary>
    public const int RegisterD = 0x0D;

    /// <summary>Diagnostic status byte (POST).</summary>
    public const int DiagnosticStatus = 0x0E;

    /// <summary>Shutdown status byte: why the CPU was reset (read by the BIOS on the way back from protected mode).</summary>
    public const int ShutdownStatus = 0x0F;

    /// <summary>Floppy drive types: high nibble drive A, low nibble drive B (see <see cref="CmosFloppyDriveType"/>).</summary>
    public const int FloppyDriveTypes = 0x10;

    /// <summary>Hard disk types: high nibble drive 0, low nibble drive 1; Fh means "see the extended type at 19h/1Ah".</summary>
    public const int HardDiskTypes = 0x12;

    /// <summary>Drive 0's extended hard disk type (47, user-defined, with its parameters at <see cref="HardDisk0Parameters"/>).</summary>
    public const int HardDisk0ExtendedType = 0x19;

    /// <summary>Drive 1's extended hard disk type.</summary>
    public const int HardDisk1ExtendedType = 0x1A;

    /// <summary>Drive 0's user-defined parameters, 9 bytes: cylinders (2), heads, write precompensation (2), control byte, landing zone (2), sectors per track.</summary>
    public const int HardDisk0Parameters = 0x1B;

    /// <summary>Drive 1's user-defined parameters (same layout as <see cref="HardDisk0Parameters"/>).</summary>
    public const int HardDisk1Parameters = 0x24;

    /// <summary>The BIOS CHS translation of IDE drives 0-3, two bits each from bit 0 (0 none, 1 LBA, 2 large, 3 r-echs), as SeaBIOS reads it under QEMU.</summary>
    public const int IdeTranslation = 0x39;

    /// <summary>Equipment byte: bit 0 floppy drives present, bit 1 math coprocessor, bits 5-4 primary display (00 = EGA/VGA), bits 7-6 floppy count - 1.</summary>
    public const int Equipment = 0x14;

    /// <summary>Base memory in KB, low byte (high byte at 16h): 640.</summary>
    public const int BaseMemoryLow = 0x15;

    /// <summary>Extended memory above 1 MB in KB, low byte (high byte at 18h), at most 65535.</summary>
    public const int ExtendedMemoryLow = 0x17;

    /// <summary>Checksum of bytes 10h-2Dh, high byte (low byte at 2Fh).</summary>
    public const int ChecksumHigh = 0x2E;

    /// <summary>Extended memory above 1 MB in KB as POST counted it, low byte (high byte at 31h); same value as 17h-18h.</summary>
    public const int ExtendedMemoryPostLow = 0x30;

    /// <summary>Century in the clock's format (BCD by default).</summary>
    public const int Century = 0x32;

    /// <summary>Memory between 16 MB and 4 GB in 64 KB units, low byte (high byte at 35h), at most 65535 (SeaBIOS, QEMU).</summary>
    public const int MemoryAbove16MegabytesLow = 0x34;

    /// <summary>Memory above 4 GB in 64 KB units: 5Bh low, 5Ch middle, 5Dh high byte (SeaBIOS, QEMU).</summary>
    public const int MemoryAbove4GigabytesLow = 0x5B;

    /// <summary>The first byte the checksum covers.</summary>
    public const int ChecksumFirst = 0x10;

    /// <summary>The last byte the checksum covers (inclusive).</summary>
    public const int ChecksumLast = 0x2D;
}
