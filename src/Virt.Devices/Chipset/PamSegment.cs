namespace Virt.Devices;

/// <summary>One segment of the BIOS area that a 440FX PAM register field controls (290549, 3.2.18).</summary>
/// <param name="RegionName">The name the board gives the segment's shadowable ROM region, for example <c>"pam-c0000"</c>.</param>
/// <param name="Start">The first address.</param>
/// <param name="SizeInBytes">The size: 16 KiB, or 64 KiB for F0000h-FFFFFh.</param>
/// <param name="Register">The PAM register (59h-5Fh).</param>
/// <param name="Shift">0 for the low nibble's field, 4 for the high nibble's.</param>
public sealed record PamSegment(string RegionName, uint Start, uint SizeInBytes, int Register, int Shift);
