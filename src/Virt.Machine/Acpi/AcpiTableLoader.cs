using System.Buffers.Binary;
using System.Text;

namespace Virt.Machine.Acpi;

/// <summary>
/// Writes the fw_cfg <c>etc/table-loader</c> file: the commands with which SeaBIOS (and OVMF) allocate the ACPI blobs,
/// patch the pointers between them and compute their checksums (QEMU's BIOS linker/loader interface). Each command is
/// 128 bytes: a 32-bit little-endian command number and its arguments, file names as 56-byte NUL-padded strings.
/// </summary>
public static class AcpiTableLoader
{
    /// <summary>The fw_cfg file name of the command list.</summary>
    public const string FileName = "etc/table-loader";

    /// <summary>The size of one command.</summary>
    public const int CommandSizeInBytes = 128;

    /// <summary>The size of a file name field.</summary>
    public const int FileNameSizeInBytes = 56;

    /// <summary>ALLOCATE: file, alignment (32-bit), zone (8-bit).</summary>
    public const uint CommandAllocate = 1;

    /// <summary>ADD_POINTER: destination file, source file, offset (32-bit), size (8-bit).</summary>
    public const uint CommandAddPointer = 2;

    /// <summary>ADD_CHECKSUM: file, checksum offset, start, length (32-bit each).</summary>
    public const uint CommandAddChecksum = 3;

    /// <summary>ALLOCATE zone: anywhere in high memory (SeaBIOS: the top of RAM below 4 GiB, marked reserved in e820).</summary>
    public const byte ZoneHigh = 1;

    /// <summary>ALLOCATE zone: the F-segment (E0000h-FFFFFh), where the OS scans for the RSDP.</summary>
    public const byte ZoneFSegment = 2;

    /// <summary>Writes the command list for <paramref name="tables"/>: allocate both blobs, then the pointers, then the checksums.</summary>
    /// <param name="tables">The generated tables.</param>
    /// <returns>The file's bytes.</returns>
    public static byte[] Build(AcpiTableSet tables)
    {
        ArgumentNullException.ThrowIfNull(tables);
        var commands = new List<byte[]>
        {
            Allocate(AcpiTableSet.TablesFile, AcpiTableSet.TablesAlignment, ZoneHigh),
            Allocate(AcpiTableSet.RsdpFile, AcpiTableSet.RsdpAlignment, ZoneFSegment),
        };
        foreach (AcpiPointerFixup pointer in tables.Pointers)
        {
            byte[] command = NewCommand(CommandAddPointer);
            WriteName(command.AsSpan(4), pointer.DestinationFile);
            WriteName(command.AsSpan(4 + FileNameSizeInBytes), pointer.SourceFile);
            BinaryPrimitives.WriteUInt32LittleEndian(command.AsSpan(4 + (2 * FileNameSizeInBytes)), (uint)pointer.Offset);
            command[8 + (2 * FileNameSizeInBytes)] = (byte)pointer.SizeInBytes;
            commands.Add(command);
        }

        foreach (AcpiChecksumFixup checksum in tables.Checksums)
        {
            byte[] command = NewCommand(CommandAddChecksum);
            WriteName(command.AsSpan(4), checksum.File);
            Span<byte> args = command.AsSpan(4 + FileNameSizeInBytes);
            BinaryPrimitives.WriteUInt32LittleEndian(args, (uint)checksum.ChecksumOffset);
            BinaryPrimitives.WriteUInt32LittleEndian(args[4..], (uint)checksum.Start);
            BinaryPrimitives.WriteUInt32LittleEndian(args[8..], (uint)checksum.Length);
            commands.Add(command);
        }

        return [.. commands.SelectMany(c => c)];
    }

    private static byte[] Allocate(string file, uint alignment, byte zone)
    {
        byte[] command = NewCommand(CommandAllocate);
        WriteName(command.AsSpan(4), file);
        BinaryPrimitives.WriteUInt32LittleEndian(command.AsSpan(4 + FileNameSizeInBytes), alignment);
        command[8 + FileNameSizeInBytes] = zone;
        return command;
    }

    private static byte[] NewCommand(uint command)
    {
        byte[] bytes = new byte[CommandSizeInBytes];
        BinaryPrimitives.WriteUInt32LittleEndian(bytes, command);
        return bytes;
    }

    private static void WriteName(Span<byte> destination, string name) => Encoding.ASCII.GetBytes(name, destination[..(FileNameSizeInBytes - 1)]);
}
