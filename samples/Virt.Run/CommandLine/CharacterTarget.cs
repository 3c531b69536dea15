namespace Virt.Run.CommandLine;

/// <summary>Where a character device (serial port, debug console) is connected, as QEMU's chardev syntax says.</summary>
/// <param name="Kind">The kind of target.</param>
/// <param name="Path">The file for <see cref="CharacterTargetKind.File"/>.</param>
public sealed record CharacterTarget(CharacterTargetKind Kind, string? Path = null)
{
    /// <summary>The default for serial port 1: on the console when there is no display, otherwise nowhere.</summary>
    public static CharacterTarget Default { get; } = new(CharacterTargetKind.Default);

    /// <summary>Parses <c>stdio</c>, <c>file:PATH</c>, <c>null</c> or <c>none</c>.</summary>
    /// <param name="option">The option name, for messages.</param>
    /// <param name="text">The value.</param>
    /// <param name="allowNone">Whether <c>none</c> (no device at all) is accepted.</param>
    /// <returns>The target.</returns>
    /// <exception cref="RunOptionsException">For anything else.</exception>
    public static CharacterTarget Parse(string option, string text, bool allowNone)
    {
        if (text == "stdio")
        {
            return new CharacterTarget(CharacterTargetKind.Stdio);
        }

        if (text == "null")
        {
            return new CharacterTarget(CharacterTargetKind.Null);
        }

        if (text == "none" && allowNone)
        {
            return new CharacterTarget(CharacterTargetKind.None);
        }

        if (text.StartsWith("file:", StringComparison.Ordinal) && text.Length > 5)
        {
            return new CharacterTarget(CharacterTargetKind.File, text[5..]);
        }

        string accepted = allowNone ? "stdio, file:PATH, null or none" : "stdio, file:PATH or null";
        throw new RunOptionsException($"{option}: '{text}' is not a supported backend (use {accepted})");
    }
}
