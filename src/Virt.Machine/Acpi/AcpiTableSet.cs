using System.Buffers.Binary;

namespace Virt.Machine.Acpi;

/// <summary>
/// A generated set of ACPI tables, not yet placed: the tables blob (FACS, DSDT, FADT, MADT, HPET, RSDT, XSDT) and the
/// RSDP blob, with their pointer fields holding offsets within the blob they point into and their checksums zero,
/// plus the fixups that finish them once addresses are known. Firmware does that through the fw_cfg table loader
/// (<see cref="AcpiTableLoader"/>); direct kernel boot does it with <see cref="Link"/>.
/// </summary>
public sealed class AcpiTableSet
{
    /// <summary>The fw_cfg file of the tables blob (QEMU's name, which SeaBIOS's loader handles generically).</summary>
    public const string TablesFile = "etc/acpi/tables";

    /// <summary>The fw_cfg file of the RSDP.</summary>
    public const string RsdpFile = "etc/acpi/rsdp";

    /// <summary>The alignment the tables blob needs (the FACS, at its start, must be 64-byte aligned: ACPI 6.5, 5.2.10).</summary>
    public const int TablesAlignment = 64;

    /// <summary>The alignment of the RSDP (ACPI 6.5, 5.2.5.1: a 16-byte boundary).</summary>
    public const int RsdpAlignment = 16;

    private readonly byte[] _tables;
    private readonly byte[] _rsdp;

    internal AcpiTableSet(byte[] tables, byte[] rsdp, IReadOnlyList<AcpiTableEntry> entries, IReadOnlyList<AcpiPointerFixup> pointers, IReadOnlyList<AcpiChecksumFixup> checksums)
    {
        _tables = tables;
        _rsdp = rsdp;
        Entries = entries;
        Pointers = pointers;
        Checksums = checksums;
    }

    /// <summary>The tables blob before linking.</summary>
    public ReadOnlySpan<byte> Tables => _tables;

    /// <summary>The RSDP blob before linking.</summary>
    public ReadOnlySpan<byte> Rsdp => _rsdp;

    /// <summary>Where each table lies in <see cref="Tables"/>.</summary>
    public IReadOnlyList<AcpiTableEntry> Entries { get; }

    /// <summary>The pointer fields to relocate, in the order the loader applies them.</summary>
    public IReadOnlyList<AcpiPointerFixup> Pointers { get; }

    /// <summary>The checksums to compute after the pointers, in order (the RSDP's extended checksum after its first).</summary>
    public IReadOnlyList<AcpiChecksumFixup> Checksums { get; }

    /// <summary>The entry of a table.</summary>
    /// <param name="signature">Its signature, for example <c>APIC</c>.</param>
    /// <returns>The entry.</returns>
    /// <exception cref="KeyNotFoundException">When the set has no such table.</exception>
    public AcpiTableEntry GetEntry(string signature) => Entries.FirstOrDefault(e => e.Signature == signature) ?? throw new KeyNotFoundException($"The ACPI table set has no '{signature}' table.");

    /// <summary>
    /// Finishes the blobs for the given addresses, as SeaBIOS's table loader would: adds each blob's address to the
    /// pointer fields into it, then computes the checksums.
    /// </summary>
    /// <param name="tablesAddress">Where the tables blob goes (a multiple of <see cref="TablesAlignment"/> below 4 GiB).</param>
    /// <param name="rsdpAddress">Where the RSDP goes (a multiple of <see cref="RsdpAlignment"/>).</param>
    /// <returns>The finished tables and RSDP.</returns>
    /// <exception cref="ArgumentOutOfRangeException">When an address is misaligned or the tables would not be reachable through the RSDT's 32-bit pointers.</exception>
    public (byte[] Tables, byte[] Rsdp) Link(ulong tablesAddress, ulong rsdpAddress)
    {
        if (tablesAddress % TablesAlignment != 0 || tablesAddress + (ulong)_tables.Length > 1UL << 32)
        {
            throw new ArgumentOutOfRangeException(nameof(tablesAddress), $"ACPI tables at 0x{tablesAddress:X} must be {TablesAlignment}-byte aligned and below 4 GiB.");
        }

        if (rsdpAddress % RsdpAlignment != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(rsdpAddress), $"The RSDP at 0x{rsdpAddress:X} must be {RsdpAlignment}-byte aligned.");
        }

        var blobs = new Dictionary<string, (byte[] Bytes, ulong Address)>
        {
            [TablesFile] = ([.. _tables], tablesAddress),
            [RsdpFile] = ([.. _rsdp], rsdpAddress),
        };
        foreach (AcpiPointerFixup pointer in Pointers)
        {
            Span<byte> field = blobs[pointer.DestinationFile].Bytes.AsSpan(pointer.Offset, pointer.SizeInBytes);
            ulong address = blobs[pointer.SourceFile].Address;
            if (pointer.SizeInBytes == sizeof(uint))
            {
                BinaryPrimitives.WriteUInt32LittleEndian(field, (uint)(BinaryPrimitives.ReadUInt32LittleEndian(field) + address));
            }
            else
            {
                BinaryPrimitives.WriteUInt64LittleEndian(field, BinaryPrimitives.ReadUInt64LittleEndian(field) + address);
            }
        }

        foreach (AcpiChecksumFixup checksum in Checksums)
        {
            byte[] bytes = blobs[checksum.File].Bytes;
            bytes[checksum.ChecksumOffset] = 0;
            bytes[checksum.ChecksumOffset] = ComputeChecksum(bytes.AsSpan(checksum.Start, checksum.Length));
        }

        return (blobs[TablesFile].Bytes, blobs[RsdpFile].Bytes);
    }

    /// <summary>The byte that makes <paramref name="bytes"/> (with a zero checksum byte) sum to 0 modulo 256.</summary>
    /// <param name="bytes">The range.</param>
    /// <returns>The checksum.</returns>
    public static byte ComputeChecksum(ReadOnlySpan<byte> bytes)
    {
        byte sum = 0;
        foreach (byte b in bytes)
        {
            sum += b;
        }

        return (byte)(0 - sum);
    }
}
