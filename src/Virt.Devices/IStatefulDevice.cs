namespace Virt.Devices;

/// <summary>
/// A device whose guest-visible state can be saved and restored as a versioned record that holds
/// no host handles (no streams, pipes or delegates): a snapshot is the tree of these records plus memory.
/// Saving, restoring and saving again gives an equal record.
/// </summary>
/// <typeparam name="TState">The state record; by convention its name ends in <c>State</c> and it has a <c>Version</c>.</typeparam>
public interface IStatefulDevice<TState> : IDevice
    where TState : class
{
    /// <summary>Captures the device's state.</summary>
    /// <returns>A record that shares no mutable objects with the device.</returns>
    TState SaveState();

    /// <summary>Restores a state captured by <see cref="SaveState"/>.</summary>
    /// <param name="state">The record.</param>
    /// <exception cref="ArgumentException">When the record's version or contents are not valid for this device; nothing is changed then.</exception>
    void RestoreState(TState state);
}
