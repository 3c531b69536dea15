using Virt.Cpu;

namespace Virt.Machine;

/// <summary>Called after the CPU shut down on a triple fault, before the machine acts on it (<see cref="MachineHooks.AddTripleFaultHook"/>).</summary>
/// <param name="report">The exceptions that led to the shutdown.</param>
/// <param name="proposed">What the machine would do: from <see cref="Machine.ResetBehavior"/>, or what the hook before this one returned.</param>
/// <returns>What the machine does (return <paramref name="proposed"/> to observe only).</returns>
public delegate TripleFaultAction TripleFaultHook(CpuShutdownReport report, TripleFaultAction proposed);
