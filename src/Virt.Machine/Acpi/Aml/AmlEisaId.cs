namespace Virt.Machine.Acpi.Aml;

/// <summary>
/// The compressed EISA id of a PNP identifier (<c>EisaId ("PNP0A03")</c> in ASL; ACPI 6.5, 19.3.4 "ASL Macros"):
/// three letters of five bits each (A = 1) and four hex digits, stored big-endian in a 32-bit integer.
/// </summary>
public static class AmlEisaId
{
    /// <summary>Compresses an id such as <c>PNP0A03</c>.</summary>
    /// <param name="id">Three capital letters and four hexadecimal digits.</param>
    /// <returns>The integer to put in <c>_HID</c>.</returns>
    /// <exception cref="ArgumentException">When the id is not of that form.</exception>
    public static uint Encode(string id)
    {
        ArgumentNullException.ThrowIfNull(id);
        if (id.Length != 7 || id[..3].Any(c => c is < 'A' or > 'Z') || !ushort.TryParse(id[3..], System.Globalization.NumberStyles.AllowHexSpecifier, null, out ushort product))
        {
            throw new ArgumentException($"'{id}' is not an EISA id (three capital letters, four hex digits).", nameof(id));
        }

        uint vendor = ((uint)(id[0] - '@') << 10) | ((uint)(id[1] - '@') << 5) | (uint)(id[2] - '@');
        uint bigEndian = (vendor << 16) | product;
        return System.Buffers.Binary.BinaryPrimitives.ReverseEndianness(bigEndian);
    }

    /// <summary>An integer node holding the compressed id.</summary>
    /// <param name="id">The id.</param>
    /// <returns>The node.</returns>
    public static AmlInteger Node(string id) => new(Encode(id));
}
