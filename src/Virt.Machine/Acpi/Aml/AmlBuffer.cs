namespace Virt.Machine.Acpi.Aml;

/// <summary>A buffer constant (also what a resource template is: see <see cref="AmlResourceTemplate"/>).</summary>
/// <param name="data">The bytes (copied).</param>
public sealed class AmlBuffer(ReadOnlySpan<byte> data) : AmlNode
{
    private readonly byte[] _data = data.ToArray();

    /// <summary>The bytes.</summary>
    public ReadOnlySpan<byte> Data => _data;
}
