namespace Virt.Machine.Acpi;

/// <summary>Where one table lies in the tables blob.</summary>
/// <param name="Signature">The four-character signature, for example <c>FACP</c>.</param>
/// <param name="Offset">Its offset in <see cref="AcpiTableSet.Tables"/>.</param>
/// <param name="Length">Its length in bytes.</param>
public sealed record AcpiTableEntry(string Signature, int Offset, int Length);
