namespace Virt.Memory;

/// <summary>The access widths a device supports. The buses split or merge other widths.</summary>
[Flags]
public enum AccessWidths
{
    /// <summary>No access width (invalid for a device).</summary>
    None = 0,

    /// <summary>8-bit accesses.</summary>
    Byte = 1,

    /// <summary>16-bit accesses.</summary>
    Word = 2,

    /// <summary>32-bit accesses.</summary>
    DoubleWord = 4,

    /// <summary>64-bit accesses (memory only).</summary>
    QuadWord = 8,

    /// <summary>8-, 16- and 32-bit accesses.</summary>
    UpToDoubleWord = Byte | Word | DoubleWord,

    /// <summary>Every width.</summary>
    All = Byte | Word | DoubleWord | QuadWord,
}
