namespace Virt.Cpu;

/// <summary>
/// An exception or software interrupt about to be delivered, as an <see cref="CpuExceptionHook"/> sees and changes it.
/// </summary>
/// <remarks>
/// <para>
/// The CPU state the hook sees is the architectural state at the event: for a fault (#DE, #UD, #GP, #PF, ...) the state
/// before the faulting instruction, with RIP on it (<see cref="Rip"/>); for a trap (#DB after an instruction, #BP and #OF
/// from INT3/INTO, INT n) the state after the instruction, with RIP on the next one. CR2 already holds the faulting
/// linear address of a #PF. Nothing has been pushed yet.
/// </para>
/// <para>
/// Redirect: set <see cref="Vector"/> (and <see cref="ErrorCode"/>) to deliver another exception instead; it is delivered
/// as an exception raised by the CPU (no gate DPL check), with an error code when the new vector is one that pushes one
/// (#DF, #TS, #NP, #SS, #GP, #PF, #AC; 0 when <see cref="ErrorCode"/> is -1). Suppress (<see cref="Suppress"/>,
/// <see cref="Skip"/>): nothing is delivered and execution continues at <see cref="ResumeRip"/> in the same code segment
/// and mode, with the state as the hook left it (a fault's instruction has not executed; RF and pending debug traps of the
/// aborted instruction are dropped).
/// </para>
/// </remarks>
public struct CpuExceptionEvent
{
    /// <summary>The vector (0-255). Change it to redirect the event.</summary>
    public int Vector { get; set; }

    /// <summary>The error code the handler would receive, or -1 for none (real mode pushes none). Change it with <see cref="Vector"/>.</summary>
    public int ErrorCode { get; set; }

    /// <summary>Whether the CPU raised the event (<see cref="CpuEventSource.Exception"/>) or an INT n, INT3 or INTO instruction did (<see cref="CpuEventSource.Software"/>).</summary>
    public CpuEventSource Source { get; init; }

    /// <summary>CR2 when the event was raised (for #PF: the linear address that faulted).</summary>
    public ulong Cr2 { get; init; }

    /// <summary>
    /// RIP the handler would return to: the faulting instruction for a fault, the next instruction for a trap or a software
    /// interrupt.
    /// </summary>
    public ulong Rip { get; init; }

    /// <summary>
    /// The RIP after the instruction that raised the event, when the CPU knows it (a fault raised by an instruction of the
    /// run loop); otherwise <see cref="Rip"/>.
    /// </summary>
    public ulong NextRip { get; init; }

    /// <summary>Whether the event is suppressed: not delivered; execution continues at <see cref="ResumeRip"/>.</summary>
    public bool Suppressed { get; set; }

    /// <summary>Where execution continues when the event is suppressed (<see cref="Rip"/> unless changed: a fault re-executes its instruction).</summary>
    public ulong ResumeRip { get; set; }

    /// <summary>Suppresses the event: execution continues at <see cref="ResumeRip"/> (by default <see cref="Rip"/>, so a fault the host fixed re-executes its instruction).</summary>
    public void Suppress() => Suppressed = true;

    /// <summary>Suppresses the event and continues after the instruction that raised it (<see cref="NextRip"/>).</summary>
    public void Skip()
    {
        Suppressed = true;
        ResumeRip = NextRip;
    }
}
