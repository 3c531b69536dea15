using Virt.Devices;
using Virt.Memory;

namespace Virt.Machine;

/// <summary>Forks: <see cref="Fork"/> builds an independent sibling that shares RAM with this machine copy-on-write.</summary>
public sealed partial class Machine
{
    /// <summary>How this machine was built, for <see cref="Fork"/>: set by the builder.</summary>
    internal MachineBuilder.ForkTemplate? ForkTemplate { get; set; }

    /// <summary>
    /// Creates an independent machine that continues from this one's current state: same configuration (built again from
    /// the builder's settings, custom device factories called again), the CPU, clock, A20 gate and devices as
    /// <see cref="SaveState"/> captures them, and RAM shared copy-on-write (<see cref="PhysicalMemoryMap.ShareRamInto"/>):
    /// no page is copied now, and the first write to a shared page on either side copies that page for that side, so
    /// neither machine sees the other's writes. Disks on copy-on-write overlays are forked the same way
    /// (<see cref="CopyOnWriteBlockDevice.Fork"/>): the fork's drives get overlays of their own layered over the parent's
    /// state, both go on writing independently and the base image is never written. Read-only media are shared. Both may then run, each on its own thread, and either may be disposed
    /// first. In deterministic mode the fork runs exactly as this machine would from here.
    /// </summary>
    /// <remarks>
    /// Host objects are not shared (see <see cref="ForkOptions"/>): a fork gets new serial captures, the backends given in
    /// <paramref name="options"/> or none; it has no hooks, no gdb stub and no checkpoint. Call it while this machine is
    /// not running (between runs, or from its run thread after it stopped). This machine's checkpoint stays usable.
    /// </remarks>
    /// <param name="options">Host backends for the fork and an optional entropy perturbation; null for the defaults.</param>
    /// <returns>The fork, ready to run; the caller disposes it.</returns>
    /// <exception cref="InvalidOperationException">When a custom device cannot save its state and <see cref="ForkOptions.AllowStatelessDevices"/> is false, or a drive is writable and not on a copy-on-write overlay (both machines would write the same image); the message names it.</exception>
    /// <exception cref="ArgumentException">When <see cref="ForkOptions.SerialBackends"/> names a port that has no host backend.</exception>
    /// <exception cref="MachineConfigurationException">When a host device factory fails for the fork.</exception>
    public Machine Fork(ForkOptions? options = null)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        options ??= new ForkOptions();
        MachineBuilder.ForkTemplate template = ForkTemplate
            ?? throw new InvalidOperationException("This machine was not built by MachineBuilder.Build, so it cannot be forked.");
        if (!options.AllowStatelessDevices)
        {
            string[] stateless = [.. _devices.Where(d => !StatefulDevices.Any(s => s.Name == d.Name)).Select(d => $"'{d.Name}' ({d.GetType().Name})")];
            if (stateless.Length > 0)
            {
                throw new InvalidOperationException(
                    $"Cannot fork: device {string.Join(", ", stateless)} does not implement IStatefulDevice<T>, so the fork could not have its state. " +
                    "Implement it, or set ForkOptions.AllowStatelessDevices to start the fork's instance in its power-on state.");
            }
        }

        MachineState state = SaveState();
        MachineBuilder.DriveMedia media = ForkDriveMedia();
        Machine child = template.Build(options, media);
        try
        {
            // The record comes from a machine of the same configuration, so RestoreState accepts it.
            child.RestoreState(state);
            Memory.ShareRamInto(child.Memory);
            foreach (MemoryRegionInfo region in Memory.Regions.Where(r => r.Kind == MemoryRegionKind.ShadowableRom))
            {
                child.Memory.SetShadowMode(region.Name, Memory.GetShadowMode(region.Name));
            }

            child.ResetCount = ResetCount;
            if (options.Entropy is { } entropy)
            {
                child.PerturbEntropy(entropy);
            }
        }
        catch
        {
            child.Dispose();
            throw;
        }

        return child;
    }
}
