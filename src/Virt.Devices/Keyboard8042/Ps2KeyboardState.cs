namespace Virt.Devices;

/// <summary>The saved state of a <see cref="Ps2Keyboard"/>.</summary>
/// <param name="Version">The record version, <see cref="CurrentVersion"/>.</param>
/// <param name="Output">Bytes waiting to go to the controller, oldest first.</param>
/// <param name="ScanCodeSet">The selected scan code set (1 or 2).</param>
/// <param name="ScanningEnabled">Whether key events are reported.</param>
/// <param name="Leds">The LED bits set by command EDh.</param>
/// <param name="Typematic">The typematic rate/delay byte set by command F3h.</param>
/// <param name="PendingCommand">The command waiting for its parameter byte, or 0.</param>
/// <param name="LastSent">The last byte sent (for the resend command).</param>
/// <param name="RepeatingKey">The key auto-repeating, or -1.</param>
/// <param name="RepeatDeadline">The guest time of the next repeat, <see cref="long.MaxValue"/> when none.</param>
public sealed record Ps2KeyboardState(
    int Version,
    byte[] Output,
    byte ScanCodeSet,
    bool ScanningEnabled,
    byte Leds,
    byte Typematic,
    byte PendingCommand,
    byte LastSent,
    int RepeatingKey,
    long RepeatDeadline)
{
    /// <summary>The version this build writes.</summary>
    public const int CurrentVersion = 1;

    /// <summary>Compares every field, the output bytes by value.</summary>
    /// <param name="other">The other record.</param>
    /// <returns>Whether both describe the same state.</returns>
    public bool Equals(Ps2KeyboardState? other) =>
        other is not null && Version == other.Version && Output.AsSpan().SequenceEqual(other.Output) &&
        ScanCodeSet == other.ScanCodeSet && ScanningEnabled == other.ScanningEnabled && Leds == other.Leds &&
        Typematic == other.Typematic && PendingCommand == other.PendingCommand && LastSent == other.LastSent &&
        RepeatingKey == other.RepeatingKey && RepeatDeadline == other.RepeatDeadline;

    /// <summary>A hash over the fields and output bytes.</summary>
    /// <returns>The hash.</returns>
    public override int GetHashCode()
    {
        var hash = new HashCode();
        hash.AddBytes(Output);
        hash.Add(ScanCodeSet);
        hash.Add(ScanningEnabled);
        hash.Add(Leds);
        hash.Add(RepeatDeadline);
        return hash.ToHashCode();
    }
}
