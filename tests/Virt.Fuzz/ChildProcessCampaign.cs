using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Virt.Fuzz;

/// <summary>
/// Runs a campaign in batches of guests, each batch in a child process (this tool, started with the batch's first index).
/// The child prints a line before each guest; when it dies without its summary (a stack overflow, a fail-fast, an
/// out-of-memory kill) the guest it had started is reported as <see cref="FindingKind.ProcessCrash"/> with its seed, and
/// the batch resumes after it in a new child.
/// </summary>
public sealed class ChildProcessCampaign
{
    /// <summary>The line prefix a child prints before each guest: index and instructions so far.</summary>
    public const string StartPrefix = "start ";

    /// <summary>The line prefix a child prints after each run: index, mode, generator, level, first run (1/0), retired, stop.</summary>
    public const string DonePrefix = "done ";

    /// <summary>The line prefix of a finding a child prints as it records it (JSON), so a child that dies later loses none.</summary>
    public const string FindingPrefix = "finding ";

    /// <summary>The line prefix of a child's final summary (JSON).</summary>
    public const string SummaryPrefix = "summary ";

    private readonly FuzzCampaignOptions _options;
    private readonly int _batchGuests;
    private readonly int _parallel;
    private readonly Action<string>? _log;
    private readonly FuzzSummary _total = new();
    private readonly ReproducerWriter? _writer;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private long _nextIndex;

    /// <summary>Prepares the campaign.</summary>
    /// <param name="options">What to run (device traffic runs in one more child at the end).</param>
    /// <param name="batchGuests">Guests per child process.</param>
    /// <param name="parallel">Children run at once.</param>
    /// <param name="log">Progress lines, or null.</param>
    public ChildProcessCampaign(FuzzCampaignOptions options, int batchGuests = 2000, int parallel = 1, Action<string>? log = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        ArgumentOutOfRangeException.ThrowIfLessThan(batchGuests, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(parallel, 1);
        _options = options;
        _batchGuests = batchGuests;
        _parallel = parallel;
        _log = log;
        _writer = options.ReproducerDirectory is { } directory ? new ReproducerWriter(directory, options.DisableDecodeCache, options.CompiledTier) : null;
    }

    /// <summary>The environment variable that makes a child fail fast when it reaches that guest index (tests of crash handling).</summary>
    public const string CrashAtIndexVariable = "VIRT_FUZZ_TEST_CRASH_AT_INDEX";

    /// <summary>Extra environment variables for the children (for example <see cref="CrashAtIndexVariable"/>).</summary>
    public IDictionary<string, string> ChildEnvironment { get; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>The line a child prints after a run (so the runs of a child that dies later are still counted).</summary>
    /// <param name="index">The guest index.</param>
    /// <param name="guest">The case.</param>
    /// <param name="outcome">How the run ended.</param>
    /// <param name="firstRun">False for a determinism re-run.</param>
    /// <returns>The line.</returns>
    public static string FormatDone(long index, FuzzCase guest, GuestOutcome outcome, bool firstRun)
    {
        ArgumentNullException.ThrowIfNull(guest);
        ArgumentNullException.ThrowIfNull(outcome);
        return string.Create(CultureInfo.InvariantCulture, $"{DonePrefix}{index} {guest.Mode} {guest.Generator} {guest.Level} {(firstRun ? 1 : 0)} {outcome.RetiredInstructions} {outcome.Stop}");
    }

    /// <summary>Runs every batch and returns the merged summary.</summary>
    /// <returns>The summary.</returns>
    public FuzzSummary Run()
    {
        var stopwatch = Stopwatch.StartNew();
        var workers = new Thread[_parallel];
        for (int i = 0; i < workers.Length; i++)
        {
            workers[i] = new Thread(BatchLoop) { IsBackground = true, Name = $"fuzz batch runner {i}" };
            workers[i].Start();
        }

        foreach (Thread worker in workers)
        {
            worker.Join();
        }

        if (_options.DeviceMachines > 0)
        {
            RunChild(0, _options with { InstructionTarget = 0, MaxGuests = 0, Duration = null }, deviceOnly: true);
        }

        _total.ElapsedSeconds = stopwatch.Elapsed.TotalSeconds;
        return _total;
    }

    private bool Finished()
    {
        lock (_total)
        {
            return (_options.InstructionTarget > 0 && _total.Instructions >= _options.InstructionTarget)
                || (_options.MaxGuests > 0 && _nextIndex >= _options.MaxGuests)
                || (_options.InstructionTarget <= 0 && _options.MaxGuests <= 0 && _options.Duration is null)
                || TimeLeft() <= TimeSpan.Zero;
        }
    }

    /// <summary>What remains of <see cref="FuzzCampaignOptions.Duration"/> (a day when there is none).</summary>
    private TimeSpan TimeLeft() => _options.Duration is { } duration ? duration - _clock.Elapsed : TimeSpan.FromDays(1);

    private void BatchLoop()
    {
        while (!Finished())
        {
            long first;
            int count;
            lock (_total)
            {
                first = _nextIndex;
                count = _options.MaxGuests > 0 ? (int)Math.Min(_batchGuests, _options.MaxGuests - first) : _batchGuests;
                _nextIndex += count;
            }

            if (count <= 0)
            {
                break;
            }

            long end = first + count;
            long index = first;
            while (index < end)
            {
                long remaining;
                lock (_total)
                {
                    remaining = _options.InstructionTarget > 0 ? _options.InstructionTarget - _total.Instructions : 0;
                }

                if ((_options.InstructionTarget > 0 && remaining <= 0) || TimeLeft() <= TimeSpan.Zero)
                {
                    break;
                }

                // The child stops at the end of its batch or when it alone has run what the campaign still lacks.
                index = RunChild(index, _options with { MaxGuests = (int)(end - index), InstructionTarget = remaining, DeviceMachines = 0, Duration = _options.Duration is null ? null : TimeLeft() }, deviceOnly: false);
            }
        }
    }

    /// <summary>Runs one child from guest <paramref name="firstIndex"/>; returns the index to resume at.</summary>
    private long RunChild(long firstIndex, FuzzCampaignOptions childOptions, bool deviceOnly)
    {
        var info = new ProcessStartInfo
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        (string fileName, string? dll) = ChildCommand();
        info.FileName = fileName;
        if (dll is not null)
        {
            info.ArgumentList.Add(dll);
        }

        foreach (string argument in FuzzCommandLine.ToArguments(childOptions))
        {
            info.ArgumentList.Add(argument);
        }

        foreach ((string name, string value) in ChildEnvironment)
        {
            info.Environment[name] = value;
        }

        info.ArgumentList.Add("--child");
        info.ArgumentList.Add(firstIndex.ToString(CultureInfo.InvariantCulture));
        using var process = new Process { StartInfo = info };
        var errors = new StringBuilder();
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (errors)
                {
                    if (errors.Length < 16_384)
                    {
                        errors.AppendLine(e.Data);
                    }
                }
            }
        };
        process.Start();
        process.BeginErrorReadLine();
        long lastStarted = -1;
        var done = new FuzzSummary();
        FuzzSummary? summary = null;
        while (process.StandardOutput.ReadLine() is { } line)
        {
            if (line.StartsWith(StartPrefix, StringComparison.Ordinal))
            {
                string[] parts = line[StartPrefix.Length..].Split(' ');
                lastStarted = long.Parse(parts[0], CultureInfo.InvariantCulture);
            }
            else if (line.StartsWith(DonePrefix, StringComparison.Ordinal))
            {
                string[] p = line[DonePrefix.Length..].Split(' ');
                var ran = new FuzzCase(0, Enum.Parse<FuzzMode>(p[1]), Enum.Parse<FuzzGenerator>(p[2]), Enum.Parse<FuzzLevel>(p[3]), 0, []);
                var outcome = new GuestOutcome(p[6], long.Parse(p[5], CultureInfo.InvariantCulture), 0, null, TimeSpan.Zero);
                done.AddRun(ran, outcome, firstRun: p[4] == "1");
            }
            else if (line.StartsWith(FindingPrefix, StringComparison.Ordinal) && JsonSerializer.Deserialize<FuzzFinding>(line[FindingPrefix.Length..]) is { } found)
            {
                done.AddFinding(found);
            }
            else if (line.StartsWith(SummaryPrefix, StringComparison.Ordinal))
            {
                summary = JsonSerializer.Deserialize<FuzzSummary>(line[SummaryPrefix.Length..]);
            }
        }

        process.WaitForExit();
        if (summary is not null)
        {
            lock (_total)
            {
                double elapsed = _total.ElapsedSeconds;
                _total.Add(summary);
                _total.ElapsedSeconds = elapsed;
            }

            _log?.Invoke(string.Create(CultureInfo.InvariantCulture, $"batch from {firstIndex}: {summary.Guests} guests, {summary.Instructions:N0} instructions, {summary.FindingCount} findings; total {_total.Instructions:N0}"));
            return summary.AbortReason is not null && lastStarted >= 0 ? lastStarted + 1 : long.MaxValue;
        }

        // The child died: blame the guest it had started last.
        string stderr;
        lock (errors)
        {
            stderr = errors.ToString();
        }

        string detail = $"child process exited with status {process.ExitCode} without a summary\n{Tail(stderr, 30)}";
        // A child that died before announcing a guest is blamed on its first one.
        lastStarted = Math.Max(lastStarted, firstIndex);
        FuzzCase? guest = deviceOnly ? null : childOptions.CaseAt(lastStarted);

        var finding = new FuzzFinding(FindingKind.ProcessCrash, guest, guest is null ? new DeviceFuzzCase(_options.FirstSeed, _options.DeviceOperationsPerMachine) : null, detail);
        lock (_total)
        {
            // The runs the child finished before it died count; so does the guest it died in (with no instructions).
            double elapsed = _total.ElapsedSeconds;
            _total.Add(done);
            _total.ElapsedSeconds = elapsed;
            if (guest is not null)
            {
                _total.AddRun(guest, new GuestOutcome("crash", 0, 0, null, TimeSpan.Zero), firstRun: true);
            }

            _total.AddFinding(finding);
        }

        _writer?.Write(finding);
        _log?.Invoke($"crash: {finding}");
        return deviceOnly ? long.MaxValue : lastStarted + 1;
    }

    private static string Tail(string text, int lines)
    {
        string[] all = text.Split('\n');
        return string.Join('\n', all.Skip(Math.Max(0, all.Length - lines)));
    }

    /// <summary>How to start this tool: its apphost, or the dotnet host with its dll (when hosted by dotnet or a test host).</summary>
    private static (string FileName, string? Dll) ChildCommand()
    {
        string dll = typeof(ChildProcessCampaign).Assembly.Location;
        string? process = Environment.ProcessPath;
        if (process is not null && Path.GetFileNameWithoutExtension(process).Equals("Virt.Fuzz", StringComparison.OrdinalIgnoreCase))
        {
            return (process, null);
        }

        if (process is not null && Path.GetFileNameWithoutExtension(process).Equals("dotnet", StringComparison.OrdinalIgnoreCase))
        {
            return (process, dll);
        }

        return (Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet", dll);
    }
}
