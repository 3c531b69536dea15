namespace Virt.Machine.Acpi.Aml;

/// <summary>What happens to the bits of a partial write (FieldFlags bits 6-5; ACPI 6.5, 19.6.48 Field).</summary>
public enum AmlFieldUpdate : byte
{
    /// <summary>Keep the other bits (read-modify-write).</summary>
    Preserve = 0,

    /// <summary>Write ones to the other bits.</summary>
    WriteAsOnes = 1,

    /// <summary>Write zeros to the other bits.</summary>
    WriteAsZeros = 2,
}
