namespace Virt.Machine;

/// <summary>What the machine does after the CPU shut down on a triple fault (<see cref="MachineHooks.AddTripleFaultHook"/>).</summary>
public enum TripleFaultAction
{
    /// <summary>
    /// Reset the machine, as a PC board does on the shutdown cycle; a loop of identical triple faults still stops with
    /// <see cref="MachineStopKind.ResetLoop"/> unless <see cref="ResetBehavior.ResetAlways"/>.
    /// </summary>
    Reset,

    /// <summary>Stop the run with <see cref="MachineStopKind.Shutdown"/>; the CPU stays shut down until the host resets the machine.</summary>
    Stop,
}
