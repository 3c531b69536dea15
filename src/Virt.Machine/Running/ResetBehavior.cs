namespace Virt.Machine;

/// <summary>What the machine does when the guest asks for a reset or the CPU shuts down after a triple fault.</summary>
public enum ResetBehavior
{
    /// <summary>
    /// Reset the CPU and devices and boot again, as a PC does, but stop with <see cref="MachineStopKind.ResetLoop"/> when
    /// the guest is caught in a reset loop: 8 triple faults in a row (no other kind of reset between them) whose
    /// exception chains are the same (vector, error code and CS:EIP of every exception) and whose instruction counts since
    /// the reset differ by at most 1/16 (room for timer interrupts that land at different points in real time). Such a
    /// guest (a truncated kernel, firmware the CPU cannot run) would otherwise reset forever without saying why.
    /// </summary>
    Reset,

    /// <summary>Stop the run with <see cref="MachineStopKind.ResetRequested"/> or <see cref="MachineStopKind.Shutdown"/> (QEMU's <c>-no-reboot</c>).</summary>
    Stop,

    /// <summary>
    /// Reset and boot again every time, with no reset-loop detection: what QEMU does, for a guest that deliberately resets
    /// through triple faults again and again (a reboot test, a 286-style return to real mode).
    /// </summary>
    ResetAlways,
}
