using System.Reflection;
using Virt.Cpu;
using Virt.Devices;

namespace Virt.Machine;

/// <summary>Saving and restoring the machine's state apart from memory: CPU, clock, A20 and devices, together.</summary>
public sealed partial class Machine
{
    private IReadOnlyList<DeviceStateAccess>? _statefulDevices;

    /// <summary>Captures the CPU, the clock, the A20 gate and every stateful device (not memory).</summary>
    /// <returns>The state record.</returns>
    public MachineState SaveState()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        CatchUpWithRetiredInstructions();
        var devices = new Dictionary<string, object>(StringComparer.Ordinal);
        foreach (DeviceStateAccess device in StatefulDevices)
        {
            devices.Add(device.Name, device.Save());
        }

        return new MachineState(MachineState.CurrentVersion, Cpu.SaveState(), Clock.SaveState(), Memory.A20Enabled, devices);
    }

    /// <summary>
    /// Restores a state captured by <see cref="SaveState"/>, all or nothing: the record is checked as a whole (version,
    /// one record of the right type for every stateful device and none for others, the CPU and clock records), applied
    /// in the order that keeps the parts consistent (CPU; clock, which cancels every timer; devices, which reschedule
    /// theirs against the restored time), and the clock then counts the CPU's instructions from the restored count. If
    /// a part refuses its record, the parts already restored are put back, so the machine is as before.
    /// Memory is not part of the record: <see cref="SaveSnapshot"/> and <see cref="RestoreSnapshot"/> save and restore the whole machine with RAM.
    /// </summary>
    /// <param name="state">A record from <see cref="SaveState"/>.</param>
    /// <exception cref="ArgumentException">When the record is invalid or a part refuses it; the message names the part and field.</exception>
    public void RestoreState(MachineState state)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ValidateState(state);
        MachineState before = SaveState();

        // The CPU and the clock check their whole record before changing anything, so a refusal there needs no undo of
        // their own; the devices come last, and a refusal there puts everything back.
        Cpu.RestoreState(state.Cpu);
        try
        {
            Clock.RestoreState(state.Clock);
        }
        catch (ArgumentException)
        {
            Cpu.RestoreState(before.Cpu);
            MarkRetiredInstructions();
            throw;
        }

        try
        {
            foreach (DeviceStateAccess device in StatefulDevices)
            {
                try
                {
                    device.Restore(state.Devices[device.Name]);
                }
                catch (ArgumentException e)
                {
                    throw new ArgumentException($"MachineState.Devices['{device.Name}']: {e.Message}", nameof(state), e);
                }
            }
        }
        catch (ArgumentException)
        {
            Cpu.RestoreState(before.Cpu);
            Clock.RestoreState(before.Clock);
            foreach (DeviceStateAccess device in StatefulDevices)
            {
                device.Restore(before.Devices[device.Name]);
            }

            MarkRetiredInstructions();
            throw;
        }

        Memory.A20Enabled = state.A20Enabled;
        _pendingStop = null;
        _resetPending = false;
        MarkRetiredInstructions();
    }

    private IReadOnlyList<DeviceStateAccess> StatefulDevices => _statefulDevices ??= [.. _devices.Select(DeviceStateAccess.For).OfType<DeviceStateAccess>()];

    private void ValidateState(MachineState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (state.Version != MachineState.CurrentVersion)
        {
            throw new ArgumentException($"MachineState.Version {state.Version} is not supported (expected {MachineState.CurrentVersion}).", nameof(state));
        }

        if (state.Cpu is null || state.Clock is null || state.Devices is null)
        {
            throw new ArgumentException("MachineState has no Cpu, Clock or Devices record.", nameof(state));
        }

        foreach (DeviceStateAccess device in StatefulDevices)
        {
            if (!state.Devices.TryGetValue(device.Name, out object? record) || record is null)
            {
                throw new ArgumentException($"MachineState.Devices has no record for device '{device.Name}'.", nameof(state));
            }

            if (!device.StateType.IsInstanceOfType(record))
            {
                throw new ArgumentException($"MachineState.Devices['{device.Name}'] is a {record.GetType().Name}, not the {device.StateType.Name} the device saves.", nameof(state));
            }
        }

        foreach (string name in state.Devices.Keys)
        {
            if (!StatefulDevices.Any(d => d.Name == name))
            {
                throw new ArgumentException($"MachineState.Devices has a record for '{name}', which is not a stateful device of this machine.", nameof(state));
            }
        }
    }

    /// <summary>Untyped access to one device's <see cref="IStatefulDevice{TState}"/>, bound once per device.</summary>
    private sealed class DeviceStateAccess(string name, Type stateType, Func<object> save, Action<object> restore)
    {
        private static readonly MethodInfo s_bind = typeof(DeviceStateAccess).GetMethod(nameof(Bind), BindingFlags.NonPublic | BindingFlags.Static)!;

        public string Name => name;

        public Type StateType => stateType;

        public object Save() => save();

        public void Restore(object state) => restore(state);

        /// <summary>The access for <paramref name="device"/>, or null when it does not save its state.</summary>
        public static DeviceStateAccess? For(IDevice device)
        {
            Type? stateful = device.GetType().GetInterfaces()
                .FirstOrDefault(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IStatefulDevice<>));
            return stateful is null ? null : (DeviceStateAccess)s_bind.MakeGenericMethod(stateful.GetGenericArguments()[0]).Invoke(null, [device])!;
        }

        private static DeviceStateAccess Bind<TState>(IDevice device)
            where TState : class
        {
            var typed = (IStatefulDevice<TState>)device;
            return new DeviceStateAccess(device.Name, typeof(TState), typed.SaveState, state => typed.RestoreState((TState)state));
        }
    }
}
