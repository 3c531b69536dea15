using Virt.Devices;

namespace Virt.Machine;

/// <summary>
/// An in-memory point a machine can go back to with <see cref="Machine.Rewind"/>: the machine state (CPU, clock, A20,
/// devices) at <see cref="Machine.Checkpoint"/>, while the machine keeps a copy of its RAM as of that moment and its
/// disk overlays keep what they held then. Only the
/// machine's latest checkpoint can be rewound to, any number of times.
/// </summary>
public sealed class MachineCheckpoint
{
    internal MachineCheckpoint(Machine owner, long generation, MachineState state, long pagesCopied, IReadOnlyList<(string Drive, CopyOnWriteBlockDevice Overlay)> overlays)
    {
        Overlays = overlays;
        Owner = owner;
        Generation = generation;
        State = state;
        PagesCopied = pagesCopied;
    }

    /// <summary>The state of everything but RAM at the checkpoint.</summary>
    public MachineState State { get; }

    /// <summary>The RAM pages copied to take the checkpoint: those written since the previous one (all allocated pages for the first).</summary>
    public long PagesCopied { get; }

    internal Machine Owner { get; }

    /// <summary>The disk overlays checkpointed with the machine, by drive.</summary>
    internal IReadOnlyList<(string Drive, CopyOnWriteBlockDevice Overlay)> Overlays { get; }

    internal long Generation { get; }
}
