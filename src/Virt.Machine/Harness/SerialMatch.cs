namespace Virt.Machine;

/// <summary>A pattern found in serial output.</summary>
/// <param name="Text">The text that matched.</param>
/// <param name="EndOffset">The capture offset (in bytes since it was created) just past the byte that completed the match.</param>
internal sealed record SerialMatch(string Text, long EndOffset);
