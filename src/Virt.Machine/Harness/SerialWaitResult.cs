namespace Virt.Machine;

/// <summary>
/// What <see cref="Machine.WaitForSerialAsync(string, long, TimeSpan, CancellationToken)"/> saw: the pattern, or why
/// the machine stopped first. Guest behaviour never throws; the machine can run on from where it stopped.
/// </summary>
/// <param name="Found">Whether the guest printed the pattern.</param>
/// <param name="MatchedText">The text that matched, or null when not found.</param>
/// <param name="Stop">
/// When not found, why the run ended: <see cref="MachineStopKind.BudgetExhausted"/>, <see cref="MachineStopKind.Timeout"/>,
/// <see cref="MachineStopKind.Cancelled"/>, or a stop of the guest's own (halted, exited, crashed, reset); null when found.
/// </param>
/// <param name="InstructionsSpent">
/// The instruction budget this wait used: instructions retired plus halted time at the clock's rate (0 when the pattern
/// was already in the output kept).
/// </param>
/// <param name="RetiredInstructions">The CPU's retired-instruction count when the wait ended (<see cref="Virt.Cpu.Cpu.RetiredInstructions"/>).</param>
public sealed record SerialWaitResult(bool Found, string? MatchedText, MachineStopReason? Stop, long InstructionsSpent, long RetiredInstructions)
{
    /// <summary>The capture offset (bytes since it was created) just past the match, or -1 when not found.</summary>
    public long MatchEndOffset { get; init; } = -1;

    /// <inheritdoc />
    public override string ToString() => Found
        ? $"found '{MatchedText}' after {InstructionsSpent} instructions"
        : $"not found: {Stop} after {InstructionsSpent} instructions";
}
