using System.Text;

namespace Virt.Machine.Acpi.Aml;

/// <summary>
/// Name paths and their AML encoding (ACPI 6.5, 20.2.2 "Name Objects Encoding"): an optional root prefix '\' or parent
/// prefixes '^', then name segments of four characters (a leading A-Z or '_', then A-Z, 0-9 or '_'), shorter segments
/// padded with '_', joined by '.' in ASL.
/// </summary>
public static class AmlNameString
{
    /// <summary>The length of a name segment.</summary>
    public const int SegmentLength = 4;

    /// <summary>The root prefix byte '\'.</summary>
    public const byte RootPrefix = (byte)'\\';

    /// <summary>The parent prefix byte '^'.</summary>
    public const byte ParentPrefix = (byte)'^';

    /// <summary>Precedes two segments.</summary>
    public const byte DualNamePrefix = 0x2E;

    /// <summary>Precedes a count byte and that many segments.</summary>
    public const byte MultiNamePrefix = 0x2F;

    /// <summary>The empty name.</summary>
    public const byte NullName = 0x00;

    /// <summary>Pads each segment of a path to four characters and checks its characters.</summary>
    /// <param name="path">The path, for example <c>\_SB.PCI0.ISA</c>.</param>
    /// <returns>The normalized path, for example <c>\_SB_.PCI0.ISA_</c>.</returns>
    /// <exception cref="ArgumentException">When a segment is empty, longer than four characters or has other characters.</exception>
    public static string Normalize(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        (string prefix, string[] segments) = Split(path);
        return prefix + string.Join('.', segments.Select(NormalizeSegment));
    }

    /// <summary>Pads one segment to four characters and checks its characters.</summary>
    /// <param name="segment">1 to 4 characters.</param>
    /// <returns>The padded segment.</returns>
    /// <exception cref="ArgumentException">When the segment is not a valid name segment.</exception>
    public static string NormalizeSegment(string segment)
    {
        ArgumentNullException.ThrowIfNull(segment);
        if (segment.Length is 0 or > SegmentLength || !(segment[0] is (>= 'A' and <= 'Z') or '_') || segment.Any(c => !(c is (>= 'A' and <= 'Z') or (>= '0' and <= '9') or '_')))
        {
            throw new ArgumentException($"'{segment}' is not an AML name segment (1 to 4 of A-Z, 0-9, '_', not starting with a digit).", nameof(segment));
        }

        return segment.PadRight(SegmentLength, '_');
    }

    /// <summary>Encodes a path as an AML NameString.</summary>
    /// <param name="path">The path (normalized or not).</param>
    /// <param name="output">Receives the bytes.</param>
    public static void Encode(string path, List<byte> output)
    {
        ArgumentNullException.ThrowIfNull(output);
        (string prefix, string[] segments) = Split(path);
        output.AddRange(Encoding.ASCII.GetBytes(prefix));
        switch (segments.Length)
        {
            case 0:
                output.Add(NullName);
                break;
            case 1:
                break;
            case 2:
                output.Add(DualNamePrefix);
                break;
            case > byte.MaxValue:
                throw new ArgumentException($"AML name '{path}' has more than 255 segments.", nameof(path));
            default:
                output.Add(MultiNamePrefix);
                output.Add((byte)segments.Length);
                break;
        }

        foreach (string segment in segments)
        {
            output.AddRange(Encoding.ASCII.GetBytes(NormalizeSegment(segment)));
        }
    }

    private static (string Prefix, string[] Segments) Split(string path)
    {
        int start = 0;
        if (path.StartsWith('\\'))
        {
            start = 1;
        }
        else
        {
            while (start < path.Length && path[start] == '^')
            {
                start++;
            }
        }

        string rest = path[start..];
        return (path[..start], rest.Length == 0 ? [] : rest.Split('.'));
    }
}
