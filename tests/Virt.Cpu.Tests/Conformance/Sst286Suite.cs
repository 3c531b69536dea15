using System.Globalization;
using System.IO.Compression;
using System.Text;
using System.Text.Json;
using Virt.Memory;

namespace Virt.Cpu.Tests.Conformance;

/// <summary>Loads and runs the SingleStepTests 80286 real-mode suite against <see cref="Cpu"/>.</summary>
internal sealed class Sst286Suite
{
    private const ulong RamSize = 16 * 1024 * 1024;
    private readonly string _directory;
    private readonly JsonElement _opcodes;
    private readonly HashSet<string> _revoked;
    private readonly PhysicalMemoryMap _memory;
    private readonly Cpu _cpu;

    public Sst286Suite(string directory)
    {
        _directory = directory;
        using JsonDocument metadata = JsonDocument.Parse(File.ReadAllText(Path.Combine(directory, "metadata.json")));
        _opcodes = metadata.RootElement.GetProperty("opcodes").Clone();
        string revocation = Path.Combine(directory, "revocation_list.txt");
        _revoked = File.Exists(revocation)
            ? [.. File.ReadAllLines(revocation).Select(l => l.Trim()).Where(l => l.Length > 0)]
            : [];
        _memory = new PhysicalMemoryMapBuilder().AddRam("ram", new PhysicalAddress(0), RamSize).Build();
        _cpu = new Cpu(_memory, new IoPortSpace());
    }

    /// <summary>The data folder: <c>VIRT_SST286_DIR</c>, else <c>shared/conformance/80286-real</c> found walking up from the test assembly.</summary>
    public static string? FindDirectory()
    {
        string? fromEnvironment = Environment.GetEnvironmentVariable("VIRT_SST286_DIR");
        if (!string.IsNullOrEmpty(fromEnvironment))
        {
            return Directory.Exists(fromEnvironment) ? fromEnvironment : null;
        }

        for (DirectoryInfo? dir = new(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, "shared", "conformance", "80286-real");
            if (Directory.Exists(candidate))
            {
                return candidate;
            }

            candidate = Path.Combine(dir.FullName, "..", "shared", "conformance", "80286-real");
            if (Directory.Exists(candidate))
            {
                return Path.GetFullPath(candidate);
            }
        }

        return null;
    }

    /// <summary>How many tests each exclusion reason removed.</summary>
    public SortedDictionary<string, int> ExclusionCounts { get; } = new(StringComparer.Ordinal);

    private void CountExclusion(string reason) => ExclusionCounts[reason] = ExclusionCounts.GetValueOrDefault(reason) + 1;

    public IEnumerable<string> Files() => Directory.GetFiles(_directory, "*.jsonl.gz")
        .Select(f => Path.GetFileName(f)[..^".jsonl.gz".Length])
        .Order(StringComparer.Ordinal);

    /// <summary>Runs one file (every <paramref name="stride"/>-th test).</summary>
    public OpcodeResult RunFile(string key, int stride, List<string> failures, int maxFailureMessages)
    {
        var result = new OpcodeResult(key);
        (string status, ushort flagsMask) = Lookup(key);
        string? excludedWhy = Sst286Exclusions.Files.TryGetValue(key, out string? why) ? why
            : Sst286Exclusions.Statuses.TryGetValue(status, out why) ? why : null;
        using FileStream file = File.OpenRead(Path.Combine(_directory, key + ".jsonl.gz"));
        using var gzip = new GZipStream(file, CompressionMode.Decompress);
        using var reader = new StreamReader(gzip, Encoding.UTF8);
        int index = 0;
        while (reader.ReadLine() is { } line)
        {
            if (index++ % stride != 0 || line.Length == 0)
            {
                continue;
            }

            result.Tests++;
            using JsonDocument test = JsonDocument.Parse(line);
            JsonElement root = test.RootElement;
            if (excludedWhy is not null || _revoked.Contains(root.GetProperty("hash").GetString()!))
            {
                result.Excluded++;
                CountExclusion(excludedWhy is null ? "revoked" : status == "fpu" ? "fpu" : key);
                continue;
            }

            string? reason = Sst286Exclusions.ExcludedCase(root);
            if (reason is not null)
            {
                result.Excluded++;
                CountExclusion(reason);
                continue;
            }

            string? failure = RunTest(root, flagsMask, out bool stackFaultAsGeneral);
            if (failure is null && stackFaultAsGeneral)
            {
                // See Sst286Exclusions.StackFaultVersusGeneralProtection.
                result.Excluded++;
                CountExclusion(Sst286Exclusions.StackFaultVersusGeneralProtection);
            }
            else if (failure is null)
            {
                result.Passed++;
            }
            else
            {
                result.Failed++;
                if (failures.Count < maxFailureMessages)
                {
                    failures.Add($"{key} #{root.GetProperty("idx").GetInt32()} {root.GetProperty("name").GetString()}: {failure}");
                }
            }
        }

        return result;
    }

    private (string Status, ushort FlagsMask) Lookup(string key)
    {
        string[] parts = key.Split('.');
        if (!_opcodes.TryGetProperty(parts[0], out JsonElement entry))
        {
            return ("normal", 0xFFFF);
        }

        if (parts.Length > 1 && entry.TryGetProperty("reg", out JsonElement regs) && regs.TryGetProperty(parts[1], out JsonElement sub))
        {
            entry = sub;
        }

        string status = entry.TryGetProperty("status", out JsonElement s) ? s.GetString()! : "normal";
        ushort mask = entry.TryGetProperty("flags-mask", out JsonElement m) ? (ushort)m.GetInt32() : (ushort)0xFFFF;
        return (status, mask);
    }

    private static readonly string[] s_registerNames = ["ax", "cx", "dx", "bx", "sp", "bp", "si", "di"];
    private static readonly string[] s_segmentNames = ["es", "cs", "ss", "ds"];

    private string? RunTest(JsonElement test, ushort flagsMask, out bool stackFaultAsGeneral)
    {
        stackFaultAsGeneral = false;
        int expectedException = test.TryGetProperty("exception", out JsonElement exception) ? exception.GetProperty("number").GetInt32() : -1;
        JsonElement initial = test.GetProperty("initial");
        JsonElement final = test.GetProperty("final");
        JsonElement initialRegs = initial.GetProperty("regs");
        JsonElement finalRegs = final.GetProperty("regs");
        JsonElement initialRam = initial.GetProperty("ram");
        JsonElement finalRam = final.GetProperty("ram");
        try
        {
            _cpu.Reset();
            for (int r = 0; r < 8; r++)
            {
                _cpu.SetRegister((GeneralRegister)r, (ushort)initialRegs.GetProperty(s_registerNames[r]).GetInt32());
            }

            for (int s = 0; s < 4; s++)
            {
                _cpu.SetSegment((SegmentRegister)s, SegmentState.RealMode((ushort)initialRegs.GetProperty(s_segmentNames[s]).GetInt32()));
            }

            _cpu.Eip = (ushort)initialRegs.GetProperty("ip").GetInt32();

            // Bits 12-15 cannot be held by a real-mode 286 (README); mask them off.
            _cpu.Flags = (uint)initialRegs.GetProperty("flags").GetInt32() & 0x0FFF;
            foreach (JsonElement pair in initialRam.EnumerateArray())
            {
                _memory.WriteByte(new PhysicalAddress((ulong)pair[0].GetInt32()), (byte)pair[1].GetInt32());
            }

            if (expectedException == 13)
            {
                // Let a #SS reach the same handler as the expected #GP, so the case can be recognised (and excluded) below.
                for (int b = 0; b < 4; b++)
                {
                    _memory.WriteByte(new PhysicalAddress((ulong)(12 * 4) + (ulong)b), _memory.ReadByte(new PhysicalAddress((ulong)(13 * 4) + (ulong)b)));
                }
            }

            StopReason stop = _cpu.Run(200_000);
            stackFaultAsGeneral = expectedException == 13 && _cpu.LastExceptionVector == 12;
            if (stop != StopReason.Halted)
            {
                return $"stopped with {stop} at {_cpu.GetSegment(SegmentRegister.Cs).Selector:X4}:{_cpu.Eip:X4}";
            }

            var errors = new StringBuilder();
            for (int r = 0; r < 8; r++)
            {
                string name = s_registerNames[r];
                int expected = (finalRegs.TryGetProperty(name, out JsonElement v) ? v : initialRegs.GetProperty(name)).GetInt32();
                int actual = (ushort)_cpu.GetRegister((GeneralRegister)r);
                if (expected != actual)
                {
                    errors.Append(CultureInfo.InvariantCulture, $"{name}={actual:X4} want {expected:X4}; ");
                }
            }

            for (int s = 0; s < 4; s++)
            {
                string name = s_segmentNames[s];
                int expected = (finalRegs.TryGetProperty(name, out JsonElement v) ? v : initialRegs.GetProperty(name)).GetInt32();
                int actual = _cpu.GetSegment((SegmentRegister)s).Selector;
                if (expected != actual)
                {
                    errors.Append(CultureInfo.InvariantCulture, $"{name}={actual:X4} want {expected:X4}; ");
                }
            }

            int expectedIp = (finalRegs.TryGetProperty("ip", out JsonElement ip) ? ip : initialRegs.GetProperty("ip")).GetInt32();
            if ((ushort)_cpu.Eip != expectedIp)
            {
                errors.Append(CultureInfo.InvariantCulture, $"ip={_cpu.Eip:X4} want {expectedIp:X4}; ");
            }

            int mask = flagsMask & 0x0FFF;
            int expectedFlags = (finalRegs.TryGetProperty("flags", out JsonElement f) ? f : initialRegs.GetProperty("flags")).GetInt32() & mask;
            int actualFlags = (int)_cpu.Flags & mask;
            if (expectedFlags != actualFlags)
            {
                errors.Append(CultureInfo.InvariantCulture, $"flags={actualFlags:X4} want {expectedFlags:X4}; ");
            }

            // The FLAGS image an exception pushed is a copy of FLAGS: its undefined bits are masked like FLAGS itself.
            // The metadata's flag_address is off by one for odd SP; derive it from the final SS:SP (FLAGS lies above IP and CS).
            long flagAddress = -1;
            if (expectedException >= 0)
            {
                int finalSs = (finalRegs.TryGetProperty("ss", out JsonElement ss) ? ss : initialRegs.GetProperty("ss")).GetInt32();
                int finalSp = (finalRegs.TryGetProperty("sp", out JsonElement sp) ? sp : initialRegs.GetProperty("sp")).GetInt32();
                flagAddress = (finalSs << 4) + ((finalSp + 4) & 0xFFFF);
            }

            foreach (JsonElement pair in finalRam.EnumerateArray())
            {
                var address = new PhysicalAddress((ulong)pair[0].GetInt32());
                byte actual = _memory.ReadByte(address);
                int byteMask = (long)address.Value == flagAddress ? mask & 0xFF : (long)address.Value == flagAddress + 1 ? mask >> 8 : 0xFF;
                if ((actual & byteMask) != (pair[1].GetInt32() & byteMask))
                {
                    errors.Append(CultureInfo.InvariantCulture, $"[{address.Value:X6}]={actual:X2} want {pair[1].GetInt32():X2}; ");
                }
            }

            return errors.Length == 0 ? null : errors.ToString();
        }
        finally
        {
            for (int b = 0; b < 4; b++)
            {
                _memory.WriteByte(new PhysicalAddress((ulong)(12 * 4) + (ulong)b), 0);
            }

            foreach (JsonElement pair in initialRam.EnumerateArray())
            {
                _memory.WriteByte(new PhysicalAddress((ulong)pair[0].GetInt32()), 0);
            }

            foreach (JsonElement pair in finalRam.EnumerateArray())
            {
                _memory.WriteByte(new PhysicalAddress((ulong)pair[0].GetInt32()), 0);
            }
        }
    }

    /// <summary>Formats the per-opcode table and the total line.</summary>
    public static string FormatReport(IReadOnlyList<OpcodeResult> results, out OpcodeResult total)
    {
        var sb = new StringBuilder();
        sb.AppendLine("| opcode | tests | passed | failed | excluded |");
        sb.AppendLine("|--------|------:|-------:|-------:|---------:|");
        total = new OpcodeResult("TOTAL");
        foreach (OpcodeResult r in results)
        {
            sb.AppendLine(CultureInfo.InvariantCulture, $"| {r.Key} | {r.Tests} | {r.Passed} | {r.Failed} | {r.Excluded} |");
            total.Tests += r.Tests;
            total.Passed += r.Passed;
            total.Failed += r.Failed;
            total.Excluded += r.Excluded;
        }

        sb.AppendLine();
        sb.AppendLine(CultureInfo.InvariantCulture, $"SST286 TOTAL tests={total.Tests} passed={total.Passed} failed={total.Failed} excluded={total.Excluded}");
        return sb.ToString();
    }
}
