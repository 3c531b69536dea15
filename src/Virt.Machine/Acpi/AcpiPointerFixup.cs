namespace Virt.Machine.Acpi;

/// <summary>
/// A pointer inside one ACPI blob to a place in another (or the same) blob: the field holds the target's offset within
/// <paramref name="SourceFile"/>; once the blobs are placed, the source blob's address is added to it (the table
/// loader's ADD_POINTER command).
/// </summary>
/// <param name="DestinationFile">The blob holding the pointer field.</param>
/// <param name="Offset">The field's offset in that blob.</param>
/// <param name="SizeInBytes">The field's size: 4 or 8.</param>
/// <param name="SourceFile">The blob pointed into.</param>
public sealed record AcpiPointerFixup(string DestinationFile, int Offset, int SizeInBytes, string SourceFile);
