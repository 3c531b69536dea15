namespace Virt.Machine.Acpi.Aml;

/// <summary>The access width of a field list (FieldFlags bits 3-0; ACPI 6.5, 19.6.48 Field).</summary>
public enum AmlFieldAccess : byte
{
    /// <summary>Any width.</summary>
    Any = 0,

    /// <summary>Byte accesses.</summary>
    Byte = 1,

    /// <summary>Word accesses.</summary>
    Word = 2,

    /// <summary>Double-word accesses.</summary>
    DWord = 3,
}
