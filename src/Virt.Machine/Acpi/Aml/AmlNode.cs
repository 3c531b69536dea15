namespace Virt.Machine.Acpi.Aml;

/// <summary>
/// A node of an AML tree (ACPI 6.5, chapter 20 "ACPI Machine Language Specification"): an object declaration
/// (<see cref="AmlScope"/>, <see cref="AmlDevice"/>, <see cref="AmlMethod"/>, <see cref="AmlName"/>, ...), a statement or
/// expression (<see cref="AmlOperation"/>, <see cref="AmlIf"/>, <see cref="AmlCall"/>) or a data object
/// (<see cref="AmlInteger"/>, <see cref="AmlString"/>, <see cref="AmlBuffer"/>, <see cref="AmlPackage"/>). A tree is
/// turned into bytes by <see cref="AmlEncoder"/>.
/// </summary>
public abstract class AmlNode
{
    /// <summary>Only this assembly defines node kinds: the encoder knows each one.</summary>
    private protected AmlNode()
    {
    }
}
