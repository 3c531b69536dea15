using System.Text.Json;
using Virt.Fuzz;

// The fuzzing tool's entry point; the work is done by FuzzCampaign and ChildProcessCampaign (docs/reliability.md).
if (args.Length == 1 && args[0] is "--help" or "-h")
{
    Console.WriteLine(FuzzCommandLine.Usage);
    return 0;
}

FuzzCommandLine line;
try
{
    line = FuzzCommandLine.Parse(args);
}
catch (ArgumentException e)
{
    Console.Error.WriteLine(e.Message);
    Console.Error.WriteLine(FuzzCommandLine.Usage);
    return 2;
}

if (line.ChildFirstIndex is { } firstIndex)
{
    // A child of a multi-process campaign: announce each guest (so a crash names it), then print the summary as JSON.
    var stdout = Console.Out;
    FuzzCampaign? campaign = null;
    long crashAt = long.TryParse(Environment.GetEnvironmentVariable(ChildProcessCampaign.CrashAtIndexVariable), out long at) ? at : -1;
    campaign = new FuzzCampaign(line.Options, firstIndex, (index, _) =>
    {
        stdout.WriteLine(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{ChildProcessCampaign.StartPrefix}{index} {campaign?.Instructions ?? 0}"));
        stdout.Flush();
        if (index == crashAt)
        {
            Environment.FailFast($"{ChildProcessCampaign.CrashAtIndexVariable}: a crash on purpose at guest {index}");
        }
    },
    guestFinished: (index, guest, outcome, firstRun) =>
    {
        stdout.WriteLine(ChildProcessCampaign.FormatDone(index, guest, outcome, firstRun));
    },
    findingRecorded: finding =>
    {
        stdout.WriteLine(ChildProcessCampaign.FindingPrefix + JsonSerializer.Serialize(finding));
    });
    FuzzSummary running = campaign.Run();
    stdout.WriteLine(ChildProcessCampaign.SummaryPrefix + JsonSerializer.Serialize(running));
    stdout.Flush();
    return 0;
}

FuzzSummary summary = line.Processes
    ? new ChildProcessCampaign(line.Options, line.BatchGuests, line.Parallel, message => Console.WriteLine(message)).Run()
    : new FuzzCampaign(line.Options).Run();
Console.WriteLine(summary.Format());
return summary.FindingCount > 0 || summary.AbortReason is not null ? 1 : 0;
