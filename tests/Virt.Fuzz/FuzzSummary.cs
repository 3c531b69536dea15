using System.Globalization;
using System.Text;

namespace Virt.Fuzz;

/// <summary>The totals of a campaign (or of several, merged with <see cref="Add"/>), and its findings.</summary>
public sealed class FuzzSummary
{
    /// <summary>The most findings kept in <see cref="Findings"/> (all are counted).</summary>
    public const int MaxKeptFindings = 200;

    /// <summary>Guests run (a determinism re-run is not counted again).</summary>
    public long Guests { get; set; }

    /// <summary>Guest instructions retired in total (determinism re-runs included).</summary>
    public long Instructions { get; set; }

    /// <summary>Instructions by mode name.</summary>
    public Dictionary<string, long> InstructionsByMode { get; set; } = [];

    /// <summary>Guests by mode name.</summary>
    public Dictionary<string, long> GuestsByMode { get; set; } = [];

    /// <summary>Instructions by level (Cpu, Machine).</summary>
    public Dictionary<string, long> InstructionsByLevel { get; set; } = [];

    /// <summary>Instructions by generator.</summary>
    public Dictionary<string, long> InstructionsByGenerator { get; set; } = [];

    /// <summary>How guests ended (Halted, Shutdown, BudgetExhausted, ...), by count.</summary>
    public Dictionary<string, long> Stops { get; set; } = [];

    /// <summary>Host exceptions (guests and device traffic).</summary>
    public int HostExceptions { get; set; }

    /// <summary>Guests the watchdog declared hung.</summary>
    public int Hangs { get; set; }

    /// <summary>Of <see cref="Hangs"/>, those whose CPU sat in HLT with IF = 1 when the watchdog looked (waiting for an interrupt that never comes).</summary>
    public int HangsHaltedWithInterruptsEnabled { get; set; }

    /// <summary>Child processes that died.</summary>
    public int ProcessCrashes { get; set; }

    /// <summary>Guests whose two runs differed.</summary>
    public int Nondeterministic { get; set; }

    /// <summary>Guests compared for determinism.</summary>
    public long DeterminismChecks { get; set; }

    /// <summary>Device-traffic machines run.</summary>
    public long DeviceMachines { get; set; }

    /// <summary>Device port and MMIO operations performed.</summary>
    public long DeviceOperations { get; set; }

    /// <summary>The largest managed heap size sampled (bytes).</summary>
    public long PeakManagedBytes { get; set; }

    /// <summary>The largest process working set (bytes; for a multi-process campaign the largest of any process).</summary>
    public long PeakWorkingSetBytes { get; set; }

    /// <summary>Wall-clock seconds.</summary>
    public double ElapsedSeconds { get; set; }

    /// <summary>Why the campaign stopped early (a guest that would not stop), or null.</summary>
    public string? AbortReason { get; set; }

    /// <summary>The findings (the first <see cref="MaxKeptFindings"/>).</summary>
    public List<FuzzFinding> Findings { get; set; } = [];

    /// <summary>All findings counted (host exceptions, hangs, crashes, nondeterminism).</summary>
    public int FindingCount => HostExceptions + Hangs + ProcessCrashes + Nondeterministic;

    /// <summary>Counts a finding and keeps it if there is room.</summary>
    /// <param name="finding">The finding.</param>
    public void AddFinding(FuzzFinding finding)
    {
        ArgumentNullException.ThrowIfNull(finding);
        switch (finding.Kind)
        {
            case FindingKind.HostException: HostExceptions++; break;
            case FindingKind.Hang:
                Hangs++;
                HangsHaltedWithInterruptsEnabled += finding.Detail.Contains(GuestRunner.HaltedWithInterruptsMarker, StringComparison.Ordinal) ? 1 : 0;
                break;
            case FindingKind.ProcessCrash: ProcessCrashes++; break;
            default: Nondeterministic++; break;
        }

        if (Findings.Count < MaxKeptFindings)
        {
            Findings.Add(finding);
        }
    }

    /// <summary>Counts one finished guest run.</summary>
    /// <param name="guest">The case.</param>
    /// <param name="outcome">How it ended.</param>
    /// <param name="firstRun">False for a determinism re-run (its instructions and the check count, the guest does not).</param>
    public void AddRun(FuzzCase guest, GuestOutcome outcome, bool firstRun)
    {
        ArgumentNullException.ThrowIfNull(guest);
        ArgumentNullException.ThrowIfNull(outcome);
        long n = outcome.RetiredInstructions;
        Instructions += n;
        Bump(InstructionsByMode, guest.Mode.ToString(), n);
        Bump(InstructionsByLevel, guest.Level.ToString(), n);
        Bump(InstructionsByGenerator, guest.Generator.ToString(), n);
        if (firstRun)
        {
            Guests++;
            Bump(GuestsByMode, guest.Mode.ToString(), 1);
            Bump(Stops, outcome.Stop, 1);
        }
        else
        {
            DeterminismChecks++;
        }
    }

    /// <summary>Adds the totals and findings of <paramref name="other"/> (peaks take the maximum, time adds up).</summary>
    /// <param name="other">Another summary.</param>
    public void Add(FuzzSummary other)
    {
        ArgumentNullException.ThrowIfNull(other);
        Guests += other.Guests;
        Instructions += other.Instructions;
        Merge(InstructionsByMode, other.InstructionsByMode);
        Merge(GuestsByMode, other.GuestsByMode);
        Merge(InstructionsByLevel, other.InstructionsByLevel);
        Merge(InstructionsByGenerator, other.InstructionsByGenerator);
        Merge(Stops, other.Stops);
        HostExceptions += other.HostExceptions;
        Hangs += other.Hangs;
        HangsHaltedWithInterruptsEnabled += other.HangsHaltedWithInterruptsEnabled;
        ProcessCrashes += other.ProcessCrashes;
        Nondeterministic += other.Nondeterministic;
        DeterminismChecks += other.DeterminismChecks;
        DeviceMachines += other.DeviceMachines;
        DeviceOperations += other.DeviceOperations;
        PeakManagedBytes = Math.Max(PeakManagedBytes, other.PeakManagedBytes);
        PeakWorkingSetBytes = Math.Max(PeakWorkingSetBytes, other.PeakWorkingSetBytes);
        ElapsedSeconds += other.ElapsedSeconds;
        AbortReason ??= other.AbortReason;
        foreach (FuzzFinding finding in other.Findings)
        {
            if (Findings.Count < MaxKeptFindings)
            {
                Findings.Add(finding);
            }
        }
    }

    /// <summary>The summary as text, one figure a line.</summary>
    /// <returns>The text.</returns>
    public string Format()
    {
        CultureInfo c = CultureInfo.InvariantCulture;
        var text = new StringBuilder();
        text.AppendLine(c, $"instructions fuzzed: {Instructions:N0} in {Guests:N0} guests, {ElapsedSeconds:0.0} s ({(ElapsedSeconds > 0 ? Instructions / ElapsedSeconds / 1e6 : 0):0.0} MIPS)");
        foreach ((string mode, long n) in InstructionsByMode.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            text.AppendLine(c, $"  {mode,-18} {n,16:N0} instructions, {GuestsByMode.GetValueOrDefault(mode),9:N0} guests");
        }

        text.AppendLine(c, $"by level: {string.Join(", ", InstructionsByLevel.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => string.Create(c, $"{p.Key} {p.Value:N0}")))}");
        text.AppendLine(c, $"by generator: {string.Join(", ", InstructionsByGenerator.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => string.Create(c, $"{p.Key} {p.Value:N0}")))}");
        text.AppendLine(c, $"guest stops: {string.Join(", ", Stops.OrderByDescending(p => p.Value).Select(p => string.Create(c, $"{p.Key} {p.Value:N0}")))}");
        text.AppendLine(c, $"device traffic: {DeviceOperations:N0} operations on {DeviceMachines:N0} machines");
        text.AppendLine(c, $"determinism checks: {DeterminismChecks:N0}");
        text.AppendLine(c, $"host exceptions: {HostExceptions}");
        text.AppendLine(c, $"process crashes: {ProcessCrashes}");
        text.AppendLine(c, $"hangs: {Hangs} ({HangsHaltedWithInterruptsEnabled} in HLT with IF=1)");
        text.AppendLine(c, $"nondeterministic: {Nondeterministic}");
        text.AppendLine(c, $"peak memory: managed {PeakManagedBytes / 1048576.0:0.0} MiB, working set {PeakWorkingSetBytes / 1048576.0:0.0} MiB");
        if (AbortReason is not null)
        {
            text.AppendLine(c, $"aborted: {AbortReason}");
        }

        foreach (FuzzFinding finding in Findings.Take(20))
        {
            text.AppendLine(c, $"finding: {finding}");
        }

        return text.ToString();
    }

    private static void Bump(Dictionary<string, long> counts, string key, long by) => counts[key] = counts.GetValueOrDefault(key) + by;

    private static void Merge(Dictionary<string, long> into, Dictionary<string, long> from)
    {
        foreach ((string key, long value) in from)
        {
            Bump(into, key, value);
        }
    }
}
