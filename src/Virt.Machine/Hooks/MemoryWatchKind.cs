namespace Virt.Machine;

/// <summary>Which guest data accesses a memory watch (<see cref="MachineHooks.AddMemoryWatch"/>) reports.</summary>
public enum MemoryWatchKind
{
    /// <summary>Writes only.</summary>
    Write,

    /// <summary>Reads only.</summary>
    Read,

    /// <summary>Reads and writes.</summary>
    ReadWrite,
}
