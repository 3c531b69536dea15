using Virt.Devices;

namespace Virt.Machine;

/// <summary>
/// What <see cref="Machine.Fork"/> gives the new machine that cannot be shared with its parent: host backends, and an
/// optional entropy perturbation (docs/snapshots.md, "Fork").
/// </summary>
/// <remarks>
/// Host backends are the host's objects, not guest state, and two machines running on two threads cannot write one
/// stream. So a fork gets, per serial port: a new, empty <see cref="SerialCapture"/> of the same capacity when the parent
/// has a capture there (<see cref="MachineBuilder.WithSerialCapture"/>); otherwise the backend given here in
/// <see cref="SerialBackends"/>, or a <see cref="NullSerialBackend"/> (output dropped, no input). The debug console
/// writes to <see cref="DebugConsole"/>, or nowhere. Hooks, a gdb stub and the parent's checkpoint are not carried over.
/// </remarks>
public sealed class ForkOptions
{
    /// <summary>Backends for serial ports the parent connected to a host backend with <see cref="MachineBuilder.WithSerialPort"/>, by port index (0 = COM1 … 3 = COM4). Ports not listed get a <see cref="NullSerialBackend"/>.</summary>
    public IReadOnlyDictionary<int, ISerialBackend> SerialBackends { get; init; } = new Dictionary<int, ISerialBackend>();

    /// <summary>Where the fork's debug console (<see cref="MachineBuilder.WithDebugConsole"/>) writes, or null to drop its output.</summary>
    public ICharacterSink? DebugConsole { get; init; }

    /// <summary>When set, the fork's time sources are moved forward as by <see cref="Machine.PerturbEntropy"/>, so it does not read what its parent reads.</summary>
    public EntropyPerturbation? Entropy { get; init; }

    /// <summary>
    /// Fork even when a custom device does not implement <see cref="IStatefulDevice{TState}"/>: the fork's instance of it
    /// (its factory is called again) then starts in its power-on state. False (the default) refuses such a machine.
    /// </summary>
    public bool AllowStatelessDevices { get; init; }
}
