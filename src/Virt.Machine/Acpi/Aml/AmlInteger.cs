namespace Virt.Machine.Acpi.Aml;

/// <summary>An integer constant, encoded in the shortest form: Zero, One, Ones, or a byte, word, dword or qword prefix.</summary>
/// <param name="value">The value.</param>
public sealed class AmlInteger(ulong value) : AmlNode
{
    /// <summary>The value.</summary>
    public ulong Value { get; } = value;
}
