using Virt.Cpu;
using Virt.Devices;

namespace Virt.Machine;

/// <summary>
/// The state of a machine apart from its memory (version <see cref="CurrentVersion"/>): the CPU, the virtual clock, the
/// A20 gate and every device that saves its state (<see cref="IStatefulDevice{TState}"/>), keyed by device name. It
/// holds no host handles. Taken by <see cref="Machine.SaveState"/> and applied as a whole by
/// <see cref="Machine.RestoreState"/>; <see cref="Machine.SaveSnapshot"/> adds RAM and writes it as a stream.
/// </summary>
/// <param name="Version">The record layout version.</param>
/// <param name="Cpu">The CPU's state.</param>
/// <param name="Clock">The virtual clock's state (guest time).</param>
/// <param name="A20Enabled">Whether the A20 gate is enabled (address line 20 not forced to zero).</param>
/// <param name="Devices">Each stateful device's record, by <see cref="IDevice.Name"/>.</param>
public sealed record MachineState(int Version, CpuState Cpu, VirtualClockState Clock, bool A20Enabled, IReadOnlyDictionary<string, object> Devices)
{
    /// <summary>The version <see cref="Machine.SaveState"/> writes.</summary>
    public const int CurrentVersion = 1;
}
