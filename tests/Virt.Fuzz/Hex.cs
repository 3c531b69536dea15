using System.Globalization;
using System.Text;

namespace Virt.Fuzz;

/// <summary>Hex text for guest bytes in reproducers.</summary>
public static class Hex
{
    /// <summary>Formats bytes as hex, <paramref name="bytesPerLine"/> a line (0: one line).</summary>
    /// <param name="bytes">The bytes.</param>
    /// <param name="bytesPerLine">Bytes per line, or 0.</param>
    /// <returns>The text.</returns>
    public static string Format(ReadOnlySpan<byte> bytes, int bytesPerLine = 0)
    {
        var text = new StringBuilder(bytes.Length * 2);
        for (int i = 0; i < bytes.Length; i++)
        {
            if (bytesPerLine > 0 && i > 0 && i % bytesPerLine == 0)
            {
                text.Append('\n');
            }

            text.Append(bytes[i].ToString("X2", CultureInfo.InvariantCulture));
        }

        return text.ToString();
    }

    /// <summary>Parses hex digits, ignoring whitespace and quotes/plus signs left from pasted C# string literals.</summary>
    /// <param name="text">The text.</param>
    /// <returns>The bytes.</returns>
    /// <exception cref="FormatException">When a character is not a hex digit or the count of digits is odd.</exception>
    public static byte[] Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var digits = new StringBuilder(text.Length);
        foreach (char c in text)
        {
            if (char.IsWhiteSpace(c) || c is '"' or '+')
            {
                continue;
            }

            if (!char.IsAsciiHexDigit(c))
            {
                throw new FormatException($"Guest code hex: '{c}' is not a hex digit.");
            }

            digits.Append(c);
        }

        if (digits.Length % 2 != 0)
        {
            throw new FormatException($"Guest code hex: {digits.Length} digits is an odd count.");
        }

        return Convert.FromHexString(digits.ToString());
    }
}
