namespace Virt.Run.CommandLine;

/// <summary>The kinds of <see cref="CharacterTarget"/>.</summary>
public enum CharacterTargetKind
{
    /// <summary>Decided by other options (<c>-nographic</c> puts serial port 1 on stdio).</summary>
    Default,

    /// <summary>Standard input and output.</summary>
    Stdio,

    /// <summary>Output appended to a file; no input.</summary>
    File,

    /// <summary>The device exists; output is discarded and there is no input.</summary>
    Null,

    /// <summary>No device at all.</summary>
    None,
}
