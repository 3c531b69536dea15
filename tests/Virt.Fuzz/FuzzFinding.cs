namespace Virt.Fuzz;

/// <summary>One finding of a campaign: the case that shows it (a guest, or a device-traffic run) and what happened.</summary>
/// <param name="Kind">The kind.</param>
/// <param name="Guest">The guest case, or null for device traffic.</param>
/// <param name="Device">The device-traffic case, or null for a guest.</param>
/// <param name="Detail">What happened (exception type, message and first stack frames; stop reasons; exit status).</param>
public sealed record FuzzFinding(FindingKind Kind, FuzzCase? Guest, DeviceFuzzCase? Device, string Detail)
{
    /// <summary>A one-line description.</summary>
    /// <returns>The text.</returns>
    public override string ToString() => $"{Kind}: {(Guest?.ToString() ?? Device?.ToString())}: {FirstLine(Detail)}";

    private static string FirstLine(string text)
    {
        int end = text.IndexOf('\n', StringComparison.Ordinal);
        return end < 0 ? text : text[..end];
    }
}
