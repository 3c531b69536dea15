namespace Virt.Cpu;

/// <summary>
/// Why the CPU shut down: the chain of exceptions that ended in a triple fault (Intel SDM Vol. 3A, 6.15, interrupt 8),
/// in the order they happened. Built once, when the CPU enters the shutdown state; see <see cref="Cpu.LastShutdown"/>.
/// </summary>
/// <param name="Exceptions">
/// The chain: the original event (an exception, or the interrupt whose delivery failed), each fault raised while
/// delivering, the double fault the CPU made of them, and last the fault that made it triple.
/// </param>
/// <param name="RetiredInstructions">Instructions retired since the last reset when the CPU shut down.</param>
public sealed record CpuShutdownReport(IReadOnlyList<CpuExceptionRecord> Exceptions, long RetiredInstructions)
{
    /// <summary>The event that started the chain (null only for an empty chain, which the CPU never reports).</summary>
    public CpuExceptionRecord? First => Exceptions.Count > 0 ? Exceptions[0] : null;

    /// <summary>A one-line summary: the vectors of the chain and where the first happened, for example <c>#UD at F000:E05B, #GP(0032), #DF(0000), #GP(0042)</c>.</summary>
    /// <returns>The summary.</returns>
    public string Summarize()
    {
        if (Exceptions.Count == 0)
        {
            return "no exception recorded";
        }

        CpuExceptionRecord first = Exceptions[0];
        var parts = new List<string>(Exceptions.Count) { $"{first.Describe()} at {first.CodeSelector:X4}:{first.Eip:X8}" };
        for (int i = 1; i < Exceptions.Count; i++)
        {
            parts.Add(Exceptions[i].Describe());
        }

        return string.Join(", ", parts);
    }

    /// <inheritdoc />
    public override string ToString() =>
        $"triple fault after {RetiredInstructions} instructions: {string.Join("; then ", Exceptions.Select(e => e.ToString()))}";
}
