using System.Globalization;
using System.Text;

namespace Virt.Fuzz;

/// <summary>
/// Writes each finding as a ready-to-paste xunit test (one .cs file per finding) into a directory: the seed, mode,
/// generator, level and budget, the guest bytes as hex, and a call to <see cref="ReproducerCheck"/> that fails while the
/// bug is there. Copy the file into tests/Virt.Fuzz.Tests/Findings/ to keep the bug fixed.
/// </summary>
public sealed class ReproducerWriter
{
    /// <summary>The most reproducer files one writer creates.</summary>
    public const int MaxFiles = 100;

    private readonly string _directory;
    private readonly bool _disableDecodeCache;
    private readonly bool _compiledTier;
    private readonly HashSet<string> _written = [];

    /// <summary>Creates a writer into <paramref name="directory"/> (created when missing).</summary>
    /// <param name="directory">The output directory.</param>
    /// <param name="disableDecodeCache">Whether the campaign ran without the decode cache (the reproducers then do too).</param>
    /// <param name="compiledTier">Whether the campaign ran the compiled tier (the reproducers then do too).</param>
    public ReproducerWriter(string directory, bool disableDecodeCache = false, bool compiledTier = false)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        _directory = directory;
        _disableDecodeCache = disableDecodeCache;
        _compiledTier = compiledTier;
        Directory.CreateDirectory(directory);
    }

    /// <summary>Writes <paramref name="finding"/> unless the limit is reached; returns the file, or null.</summary>
    /// <param name="finding">The finding.</param>
    /// <returns>The path written, or null.</returns>
    public string? Write(FuzzFinding finding)
    {
        ArgumentNullException.ThrowIfNull(finding);
        string name = ClassName(finding);
        lock (_written)
        {
            if (_written.Count >= MaxFiles || !_written.Add(name))
            {
                return null;
            }
        }

        string path = Path.Combine(_directory, name + ".cs");
        File.WriteAllText(path, Render(finding, _disableDecodeCache, _compiledTier));
        return path;
    }

    /// <summary>The C# source of the test for <paramref name="finding"/>.</summary>
    /// <param name="finding">The finding.</param>
    /// <param name="disableDecodeCache">Whether the case ran without the decode cache.</param>
    /// <param name="compiledTier">Whether the case ran on the compiled tier.</param>
    /// <returns>The source text.</returns>
    public static string Render(FuzzFinding finding, bool disableDecodeCache = false, bool compiledTier = false)
    {
        ArgumentNullException.ThrowIfNull(finding);
        CultureInfo c = CultureInfo.InvariantCulture;
        var s = new StringBuilder();
        s.AppendLine("// Reproducer written by Virt.Fuzz (see docs/reliability.md). Copy into tests/Virt.Fuzz.Tests/Findings/.");
        s.AppendLine(c, $"// Finding: {finding.Kind}");
        foreach (string line in finding.Detail.Split('\n'))
        {
            s.AppendLine(c, $"//   {line.TrimEnd()}");
        }

        s.AppendLine("using Virt.Fuzz;");
        s.AppendLine("using Xunit;");
        s.AppendLine();
        s.AppendLine("namespace Virt.Fuzz.Tests.Findings;");
        s.AppendLine();
        s.AppendLine(c, $"public sealed class {ClassName(finding)}");
        s.AppendLine("{");
        s.AppendLine("    [Fact]");
        if (finding.Guest is { } g)
        {
            s.AppendLine("    public void Guest_runs_without_host_exception_hang_or_divergence()");
            s.AppendLine("    {");
            s.AppendLine(c, $"        FuzzCase guest = FuzzCase.FromHex({g.Seed}UL, FuzzMode.{g.Mode}, FuzzGenerator.{g.Generator}, FuzzLevel.{g.Level}, budget: {g.Budget},");
            string hex = Hex.Format(g.Code, bytesPerLine: 48);
            string[] lines = hex.Split('\n');
            for (int i = 0; i < lines.Length; i++)
            {
                s.AppendLine(c, $"            \"{lines[i]}\"{(i == lines.Length - 1 ? ");" : " +")}");
            }

            s.AppendLine();
            string options = (disableDecodeCache ? ", disableDecodeCache: true" : string.Empty) + (compiledTier ? ", compiledTier: true" : string.Empty);
            s.AppendLine(c, $"        ReproducerCheck.AssertRunsCleanly(guest{options});");
        }
        else if (finding.Device is { } d)
        {
            s.AppendLine("    public void Device_traffic_raises_no_host_exception()");
            s.AppendLine("    {");
            s.AppendLine(c, $"        ReproducerCheck.AssertDeviceTrafficClean(new DeviceFuzzCase({d.Seed}UL, {d.Operations}));");
        }

        s.AppendLine("    }");
        s.AppendLine("}");
        return s.ToString();
    }

    private static string ClassName(FuzzFinding finding) => finding.Guest is { } g
        ? string.Create(CultureInfo.InvariantCulture, $"{finding.Kind}_Seed{g.Seed}_{g.Mode}_{g.Generator}_{g.Level}")
        : string.Create(CultureInfo.InvariantCulture, $"{finding.Kind}_DeviceSeed{finding.Device?.Seed}_Op{finding.Device?.Operations}");
}
