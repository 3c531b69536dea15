using System.Buffers.Binary;

namespace Virt.Machine.Boot;

/// <summary>
/// The four-entry global descriptor table the loaders place in guest memory before a 32-bit
/// protected-mode entry. The selectors follow the Linux 32-bit boot protocol
/// (Documentation/arch/x86/boot.rst, "32-bit Boot Protocol": <c>__BOOT_CS</c> = 0x10 with
/// execute/read, <c>__BOOT_DS</c> = 0x18 with read/write, both 4 GiB flat), and also satisfy Multiboot
/// and the flat-binary loader. Entries 0 and 1 are null.
/// </summary>
public static class BootGdt
{
    /// <summary>The code segment selector (<c>__BOOT_CS</c>).</summary>
    public const ushort CodeSelector = 0x10;

    /// <summary>The data segment selector (<c>__BOOT_DS</c>), used for DS, ES, FS, GS and SS.</summary>
    public const ushort DataSelector = 0x18;

    /// <summary>
    /// The code descriptor: base 0, limit FFFFFh in 4 KiB units (G=1), 32-bit (D=1), present, ring 0,
    /// type 1011b (execute/read, accessed; the accessed bit is preset so the CPU need not write it back).
    /// </summary>
    public const ulong CodeDescriptor = 0x00CF_9B00_0000_FFFF;

    /// <summary>The data descriptor: base 0, limit 4 GiB (G=1, B=1), present, ring 0, type 0011b (read/write, accessed).</summary>
    public const ulong DataDescriptor = 0x00CF_9300_0000_FFFF;

    /// <summary>The number of descriptors in the table.</summary>
    public const int EntryCount = 4;

    /// <summary>The size of the table in bytes.</summary>
    public const int SizeInBytes = EntryCount * 8;

    /// <summary>The value for GDTR.limit (the table size minus one).</summary>
    public const ushort Limit = SizeInBytes - 1;

    /// <summary>The table as it is written to guest memory (little-endian descriptors).</summary>
    /// <returns>A new 32-byte array.</returns>
    public static byte[] ToBytes()
    {
        byte[] table = new byte[SizeInBytes];
        BinaryPrimitives.WriteUInt64LittleEndian(table.AsSpan(CodeSelector), CodeDescriptor);
        BinaryPrimitives.WriteUInt64LittleEndian(table.AsSpan(DataSelector), DataDescriptor);
        return table;
    }
}
