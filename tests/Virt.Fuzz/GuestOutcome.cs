namespace Virt.Fuzz;

/// <summary>How one run of a fuzzed guest ended.</summary>
/// <param name="Stop">Why Run returned (a <see cref="Virt.Cpu.StopReason"/> or <see cref="Virt.Machine.MachineStopKind"/> name), or "exception".</param>
/// <param name="RetiredInstructions">Instructions the guest retired (prologue included).</param>
/// <param name="Fingerprint">A hash of the final CPU state, retired count and low memory (0 when not asked for).</param>
/// <param name="HostException">A .NET exception that escaped Run, or null.</param>
/// <param name="Elapsed">The wall-clock time of the run.</param>
public sealed record GuestOutcome(string Stop, long RetiredInstructions, ulong Fingerprint, Exception? HostException, TimeSpan Elapsed);
