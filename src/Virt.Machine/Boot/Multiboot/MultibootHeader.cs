using System.Buffers.Binary;

namespace Virt.Machine.Boot;

/// <summary>
/// A Multiboot (version 0.6.96) header: 32-bit aligned within the first 8192 bytes of the image,
/// magic 1BADB002h, flags, and a checksum that makes the three sum to zero (Multiboot
/// specification, 3.1.1 "The layout of Multiboot header"). When flag bit 16 is set the a.out-kludge
/// address fields follow.
/// </summary>
public sealed record MultibootHeader
{
    /// <summary>The header magic.</summary>
    public const uint Magic = 0x1BAD_B002;

    /// <summary>The value in EAX at entry that tells the kernel a Multiboot loader started it.</summary>
    public const uint BootloaderMagic = 0x2BAD_B002;

    /// <summary>How far into the image the header may start (8192 bytes).</summary>
    public const int SearchLimitInBytes = 8192;

    /// <summary>Flag bit 0: modules must be page-aligned.</summary>
    public const uint FlagPageAlignModules = 1u << 0;

    /// <summary>Flag bit 1: memory information must be passed.</summary>
    public const uint FlagMemoryInfo = 1u << 1;

    /// <summary>Flag bit 2: the video mode table must be passed (not supported by Virt).</summary>
    public const uint FlagVideoMode = 1u << 2;

    /// <summary>Flag bit 16: the address fields are valid (the a.out kludge).</summary>
    public const uint FlagAddressFields = 1u << 16;

    /// <summary>The file offset of the header.</summary>
    public required int Offset { get; init; }

    /// <summary>The header flags.</summary>
    public required uint Flags { get; init; }

    /// <summary><c>header_addr</c>: the physical address the header's first byte is loaded at (a.out kludge).</summary>
    public uint HeaderAddress { get; init; }

    /// <summary><c>load_addr</c>: the physical address of the start of the text segment (a.out kludge).</summary>
    public uint LoadAddress { get; init; }

    /// <summary><c>load_end_addr</c>: the end of the data segment, 0 for "to the end of the file" (a.out kludge).</summary>
    public uint LoadEndAddress { get; init; }

    /// <summary><c>bss_end_addr</c>: the end of the bss, 0 for none (a.out kludge).</summary>
    public uint BssEndAddress { get; init; }

    /// <summary><c>entry_addr</c>: the entry point (a.out kludge).</summary>
    public uint EntryAddress { get; init; }

    /// <summary>Whether flag bit 16 is set, so the loader uses the address fields instead of the ELF headers.</summary>
    public bool HasAddressFields => (Flags & FlagAddressFields) != 0;

    /// <summary>
    /// Finds the first valid header (magic at a 4-byte-aligned offset below 8192 with a matching checksum).
    /// </summary>
    /// <param name="image">The kernel image.</param>
    /// <param name="imageName">The file name for messages.</param>
    /// <returns>The header.</returns>
    /// <exception cref="BootImageException">When there is no valid header or its a.out-kludge fields are cut off.</exception>
    public static MultibootHeader Find(ReadOnlySpan<byte> image, string imageName)
    {
        ArgumentException.ThrowIfNullOrEmpty(imageName);
        MultibootHeader? header = TryFind(image, out string? problem);
        return header ?? throw new BootImageException(imageName, "multiboot header", problem!);
    }

    /// <summary>Finds the first valid header, or says why there is none.</summary>
    /// <param name="image">The kernel image.</param>
    /// <param name="problem">When null is returned, why.</param>
    /// <returns>The header, or null.</returns>
    public static MultibootHeader? TryFind(ReadOnlySpan<byte> image, out string? problem)
    {
        string? badChecksum = null;
        int limit = Math.Min(image.Length, SearchLimitInBytes);
        for (int offset = 0; offset + 12 <= limit; offset += 4)
        {
            if (BinaryPrimitives.ReadUInt32LittleEndian(image[offset..]) != Magic)
            {
                continue;
            }

            uint flags = BinaryPrimitives.ReadUInt32LittleEndian(image[(offset + 4)..]);
            uint checksum = BinaryPrimitives.ReadUInt32LittleEndian(image[(offset + 8)..]);
            if (unchecked(Magic + flags + checksum) != 0)
            {
                badChecksum ??= $"the magic 0x1BADB002 at offset 0x{offset:X} has checksum 0x{checksum:X8}, but magic + flags (0x{flags:X8}) + checksum must be 0 (expected 0x{unchecked(0u - Magic - flags):X8})";
                continue;
            }

            if ((flags & FlagAddressFields) != 0 && offset + 32 > image.Length)
            {
                problem = $"the header at offset 0x{offset:X} sets flag bit 16 (address fields), but the file ends before them (0x{offset + 32:X} bytes needed, 0x{image.Length:X} present): truncated";
                return null;
            }

            problem = null;
            ReadOnlySpan<byte> h = image[offset..];
            return (flags & FlagAddressFields) == 0
                ? new MultibootHeader { Offset = offset, Flags = flags }
                : new MultibootHeader
                {
                    Offset = offset,
                    Flags = flags,
                    HeaderAddress = BinaryPrimitives.ReadUInt32LittleEndian(h[12..]),
                    LoadAddress = BinaryPrimitives.ReadUInt32LittleEndian(h[16..]),
                    LoadEndAddress = BinaryPrimitives.ReadUInt32LittleEndian(h[20..]),
                    BssEndAddress = BinaryPrimitives.ReadUInt32LittleEndian(h[24..]),
                    EntryAddress = BinaryPrimitives.ReadUInt32LittleEndian(h[28..]),
                };
        }

        problem = badChecksum ?? $"no magic 0x1BADB002 at a 4-byte-aligned offset in the first {limit} bytes";
        return null;
    }
}
