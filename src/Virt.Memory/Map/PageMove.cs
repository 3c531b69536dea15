namespace Virt.Memory;

/// <summary>Which host addresses changed when a RAM page was made writable (<see cref="RamBacking.EnsureWritablePage"/>).</summary>
internal enum PageMove
{
    /// <summary>None: the page was writable where it was.</summary>
    None,

    /// <summary>The page alone: it was copied out of a chunk shared with another backing.</summary>
    Page,

    /// <summary>Every page of its chunk: the chunk was allocated, or taken back whole from a share.</summary>
    Chunk,
}
