namespace Virt.Machine;

/// <summary>What the machine does when the guest asks for a reset or the CPU shuts down after a triple fault.</summary>
public enum ResetBehavior
{
    /// <summary>Reset the CPU and devices and boot again, as a PC does.</summary>
    Reset,

    /// <summary>Stop the run with <see cref="MachineStopKind.ResetRequested"/> or <see cref="MachineStopKind.Shutdown"/> (QEMU's <c>-no-reboot</c>).</summary>
    Stop,
}
