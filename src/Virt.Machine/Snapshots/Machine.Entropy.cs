using Virt.Cpu;
using Virt.Devices;

namespace Virt.Machine;

/// <summary>Distinct clones: <see cref="PerturbEntropy"/> moves the guest-visible time sources after a restore or rewind.</summary>
public sealed partial class Machine
{
    /// <summary>
    /// Moves the guest-visible entropy sources forward so this machine no longer reads what its siblings restored from
    /// the same snapshot or checkpoint read: the time-stamp counter (RDTSC, RDMSR 10h) by
    /// <see cref="EntropyPerturbation.TscOffset"/> and the CMOS real-time clock by
    /// <see cref="EntropyPerturbation.RtcOffsetSeconds"/>. Call it after <see cref="RestoreSnapshot"/> or
    /// <see cref="Rewind"/>, before running. The TSC offset is part of the CPU state, so later snapshots and checkpoints
    /// keep it; the RTC's calendar is in its CMOS registers. RDRAND and RDSEED are not touched: the default CPUID model
    /// does not advertise them and the CPU raises #UD for them. With the same perturbation two clones stay identical.
    /// </summary>
    /// <param name="perturbation">The offsets, for example <see cref="EntropyPerturbation.FromSeed"/>.</param>
    /// <exception cref="ArgumentOutOfRangeException">When <see cref="EntropyPerturbation.RtcOffsetSeconds"/> is negative; nothing is changed then.</exception>
    public void PerturbEntropy(EntropyPerturbation perturbation)
    {
        ArgumentNullException.ThrowIfNull(perturbation);
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (perturbation.RtcOffsetSeconds < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(perturbation), perturbation.RtcOffsetSeconds, "EntropyPerturbation.RtcOffsetSeconds must be 0 or more: the real-time clock only moves forward.");
        }

        // The CPU's TSC offset is the one a guest WRMSR to IA32_TSC sets (Intel SDM Vol. 3B, 18.17): adding to it moves
        // the counter as if the guest had, and the CPU state record carries it into snapshots and checkpoints.
        CpuState cpu = Cpu.SaveState();
        Cpu.RestoreState(cpu with { TscOffset = unchecked(cpu.TscOffset + perturbation.TscOffset) });
        _ = FindDevice<Rtc146818>()?.AdvanceCalendar(perturbation.RtcOffsetSeconds);
    }
}
