namespace Virt.Machine.Acpi.Aml;

/// <summary>A string constant (ASCII 1-7Fh, NUL-terminated in AML).</summary>
public sealed class AmlString : AmlNode
{
    /// <summary>Creates the string.</summary>
    /// <param name="value">ASCII characters 01h-7Fh.</param>
    /// <exception cref="ArgumentException">When a character is NUL or not ASCII.</exception>
    public AmlString(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        if (value.Any(c => c is '\0' or > '\x7F'))
        {
            throw new ArgumentException($"AML string '{value}' must hold ASCII characters 01h-7Fh only.", nameof(value));
        }

        Value = value;
    }

    /// <summary>The characters.</summary>
    public string Value { get; }
}
