namespace Virt.Machine.Acpi;

/// <summary>A checksum byte that makes the bytes of a range sum to 0 (the table loader's ADD_CHECKSUM command).</summary>
/// <param name="File">The blob.</param>
/// <param name="ChecksumOffset">The checksum byte's offset in the blob.</param>
/// <param name="Start">The first byte of the range covered.</param>
/// <param name="Length">The range length.</param>
public sealed record AcpiChecksumFixup(string File, int ChecksumOffset, int Start, int Length);
