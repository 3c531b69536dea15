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
    private readonly IReadOnlyDictionary<string, string> _knownFailures;
    private readonly HashSet<string> _seenKnownFailures = new(StringComparer.Ordinal);

    /// <summary>The checked-in list of known failures, relative to the test assembly.</summary>
    public const string KnownFailuresFile = "TestData/Sst286KnownFailures.txt";

    public Sst286Suite(string directory)
    {
        _knownFailures = LoadKnownFailures(Path.Combine(AppContext.BaseDirectory, KnownFailuresFile));
        _directory = directory;
        using JsonDocument metadata = JsonDocument.Parse(File.ReadAllText(Path.Combine(directory, "metadata.json")));
        _opcodes = metadata.RootElement.GetProperty("opcodes").Clone();
        string revocation = Path.Combine(directory, "revocation_list.txt");
        _revoked = File.Exists(revocation)
            ? [.. File.ReadAllLines(revocation).Select(l => l.Trim()).Where(l => l.Length > 0)]
            : [];
        var machine = new CpuHarness(ramBytes: RamSize);
        _memory = machine.Memory;
        _cpu = machine.Cpu;
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

    /// <summary>How many tests each modelled difference ran against the modelled CPU's expectation instead of the 286's state.</summary>
    public SortedDictionary<string, int> ModelledCounts { get; } = new(StringComparer.Ordinal);

    /// <summary>The tier the suite's CPU runs (the compiled tier under <c>VIRT_TEST_CPU_TIER=compiled</c>, see <see cref="CompiledTierSuiteSwitch"/>).</summary>
    public ExecutionTier ExecutionTier => _cpu.ExecutionTier;

    /// <summary>What the compiled tier did over the files run so far (all zero on the interpreter tier).</summary>
    public CompiledTierStatistics CompiledTierStatistics => _cpu.CompiledTierStatistics;

    /// <summary>The known failures (hash to "key #idx: reason").</summary>
    public IReadOnlyDictionary<string, string> KnownFailures => _knownFailures;

    /// <summary>The listed hashes no test of the files run so far had (after a full run: entries that name no test).</summary>
    public IEnumerable<string> UnseenKnownFailures => _knownFailures.Keys.Where(h => !_seenKnownFailures.Contains(h));

    private void CountExclusion(string reason) => ExclusionCounts[reason] = ExclusionCounts.GetValueOrDefault(reason) + 1;

    private void CountModelled(string reason) => ModelledCounts[reason] = ModelledCounts.GetValueOrDefault(reason) + 1;

    /// <summary>
    /// Reads the known-failure list: one test a line, "hash key #idx: reason"; blank lines and lines starting with # are
    /// comments. Every entry must give a reason.
    /// </summary>
    public static IReadOnlyDictionary<string, string> LoadKnownFailures(string path)
    {
        var entries = new Dictionary<string, string>(StringComparer.Ordinal);
        int number = 0;
        foreach (string raw in File.ReadLines(path))
        {
            number++;
            string line = raw.Trim();
            if (line.Length == 0 || line.StartsWith('#'))
            {
                continue;
            }

            string[] parts = line.Split(' ', 2, StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length < 2 || parts[0].Length != 40 || !parts[1].Contains(':', StringComparison.Ordinal)
                || parts[1][(parts[1].IndexOf(':', StringComparison.Ordinal) + 1)..].Trim().Length == 0)
            {
                throw new InvalidDataException($"{path}:{number}: expected \"<40-hex-digit hash> <key> #<idx>: <reason>\"");
            }

            if (!entries.TryAdd(parts[0], parts[1]))
            {
                throw new InvalidDataException($"{path}:{number}: {parts[0]} is listed twice");
            }
        }

        return entries;
    }

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

            string hash = root.GetProperty("hash").GetString()!;
            string name = $"{key} #{root.GetProperty("idx").GetInt32()}";
            string? reason = Sst286Exclusions.ExcludedCase(root);
            string? failure;
            if (reason is not null && Sst286Exclusions.Modelled.Contains(reason))
            {
                // The 286 differs here; the case runs against the modelled CPU's expectation (Sst286FaultModel).
                failure = RunModelled(root, reason, flagsMask);
                CountModelled(reason);
            }
            else if (reason is not null)
            {
                result.Excluded++;
                CountExclusion(reason);
                continue;
            }
            else
            {
                failure = RunTest(root, flagsMask, out bool stackFaultAsGeneral);
                bool throughSs = _cpu.LastExceptionVector is Sst286FaultModel.StackFault or Sst286FaultModel.GeneralProtection
                    && Sst286FaultModel.AccessGoesThroughSs(root);
                if (stackFaultAsGeneral)
                {
                    // The 286 raised #GP, we raised #SS: right only if the access really went through SS
                    // (see Sst286Exclusions.StackFaultVersusGeneralProtection).
                    failure ??= throughSs ? null : "#SS(0) although the access beyond the limit did not go through SS (#GP expected)";
                    CountModelled(Sst286Exclusions.StackFaultVersusGeneralProtection);
                }
                else if (failure is null && _cpu.LastExceptionVector == Sst286FaultModel.GeneralProtection && throughSs)
                {
                    failure = "#GP(0) although the access beyond the limit went through SS (#SS expected on the 386 and later)";
                }
            }

            bool known = _knownFailures.TryGetValue(hash, out string? knownWhy);
            if (known)
            {
                _seenKnownFailures.Add(hash);
            }

            if (failure is null && !known)
            {
                result.Passed++;
            }
            else if (failure is not null && known)
            {
                result.KnownFailures++;
            }
            else
            {
                result.Failed++;
                string message = failure is null
                    ? $"{name} {hash}: listed in {KnownFailuresFile} ({knownWhy}) but passes now: remove it from the list"
                    : $"{name} {root.GetProperty("name").GetString()} {hash}: {failure}";
                if (failures.Count < maxFailureMessages)
                {
                    failures.Add(message);
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

    /// <summary>
    /// Runs a case the 286's final state cannot judge against <see cref="Sst286FaultModel"/>: the modelled fault's handler
    /// is a HLT this runner installs (unless the test's own interrupt table already points at one), and the expected state
    /// is the test's initial state with the frame pushed below SS:SP. Null when the CPU matched.
    /// </summary>
    private string? RunModelled(JsonElement test, string reason, ushort flagsMask)
    {
        ModelledFault? model = Sst286FaultModel.Expect(reason, test, out string why);
        if (model is null)
        {
            return why;
        }

        JsonElement initial = test.GetProperty("initial");
        JsonElement final = test.GetProperty("final");
        JsonElement initialRegs = initial.GetProperty("regs");
        var initialRam = new Dictionary<ulong, byte>();
        foreach (JsonElement pair in initial.GetProperty("ram").EnumerateArray())
        {
            initialRam[(ulong)pair[0].GetInt32()] = (byte)pair[1].GetInt32();
        }

        var finalRam = new Dictionary<ulong, byte>();
        foreach (JsonElement pair in final.GetProperty("ram").EnumerateArray())
        {
            finalRam[(ulong)pair[0].GetInt32()] = (byte)pair[1].GetInt32();
        }

        var testAddresses = new HashSet<ulong>(initialRam.Keys.Concat(finalRam.Keys));
        var written = new HashSet<ulong>(testAddresses);
        try
        {
            _cpu.Reset();
            for (int s = 0; s < 4; s++)
            {
                _cpu.SetSegment((SegmentRegister)s, SegmentState.RealMode((ushort)initialRegs.GetProperty(s_segmentNames[s]).GetInt32()));
            }

            for (int r = 0; r < 8; r++)
            {
                _cpu.SetRegister((GeneralRegister)r, (ushort)initialRegs.GetProperty(s_registerNames[r]).GetInt32());
            }

            ushort ip = (ushort)initialRegs.GetProperty("ip").GetInt32();
            _cpu.Eip = ip;
            _cpu.Flags = (uint)initialRegs.GetProperty("flags").GetInt32() & 0x0FFF;
            foreach ((ulong address, byte value) in initialRam)
            {
                _memory.WriteByte(new PhysicalAddress(address), value);
            }

            (ushort handlerSegment, ushort handlerOffset) = InstallHaltHandler(model.Vector, initialRam, written);
            ushort ss = (ushort)initialRegs.GetProperty("ss").GetInt32();
            ushort cs = (ushort)initialRegs.GetProperty("cs").GetInt32();
            ushort sp = model.Registers[4];

            // The REP iterations before the faulting one complete as the 286's did: their FLAGS are in the 286's frame.
            ushort pushedFlags = model.Flags;
            if (model.Iterations > 0)
            {
                ulong frame286 = ((ulong)(final.GetProperty("regs").TryGetProperty("ss", out JsonElement fs) ? fs.GetInt32() : ss) << 4)
                    + (ulong)(((final.GetProperty("regs").TryGetProperty("sp", out JsonElement fsp) ? fsp.GetInt32() : sp) + 4) & 0xFFFF);
                pushedFlags = (ushort)(finalRam.GetValueOrDefault(frame286) | (finalRam.GetValueOrDefault(frame286 + 1) << 8));
            }

            StopReason stop = _cpu.Run(200_000);
            var errors = new StringBuilder();
            if (stop != StopReason.Halted || _cpu.LastExceptionVector != model.Vector)
            {
                errors.Append(CultureInfo.InvariantCulture, $"expected vector {model.Vector}, got {_cpu.LastExceptionVector} ({stop}); ");
            }

            for (int r = 0; r < 8; r++)
            {
                int expected = r == 4 ? (ushort)(sp - 6) : model.Registers[r];
                int actual = (ushort)_cpu.GetRegister((GeneralRegister)r);
                if (expected != actual)
                {
                    errors.Append(CultureInfo.InvariantCulture, $"{s_registerNames[r]}={actual:X4} want {expected:X4}; ");
                }
            }

            if (_cpu.GetSegment(SegmentRegister.Cs).Selector != handlerSegment || (ushort)_cpu.Eip != (ushort)(handlerOffset + 1))
            {
                errors.Append(CultureInfo.InvariantCulture, $"cs:ip={_cpu.GetSegment(SegmentRegister.Cs).Selector:X4}:{_cpu.Eip:X4} want {handlerSegment:X4}:{handlerOffset + 1:X4}; ");
            }

            // Delivery clears IF and TF (Vol. 3A, 21.1.4); the undefined flags of the completed iterations are masked.
            int mask = flagsMask & 0x0FFF;
            const int interruptAndTrap = 0x300;
            if (((int)_cpu.Flags & mask) != (pushedFlags & ~interruptAndTrap & mask))
            {
                errors.Append(CultureInfo.InvariantCulture, $"flags={_cpu.Flags & (uint)mask:X4} want {pushedFlags & ~interruptAndTrap & mask:X4}; ");
            }

            // Memory: the test's bytes as before (or as the 286's completed iterations left them), the 286's own frame not
            // pushed, and ours below SS:SP: IP of the first prefix, CS, FLAGS.
            var expectedRam = new Dictionary<ulong, (byte Value, int Mask)>();
            foreach (ulong address in testAddresses)
            {
                expectedRam[address] = (model.Iterations > 0 && finalRam.TryGetValue(address, out byte v) ? v : initialRam.GetValueOrDefault(address), 0xFF);
            }

            if (model.Iterations > 0)
            {
                ulong ss286 = (ulong)(final.GetProperty("regs").TryGetProperty("ss", out JsonElement fs2) ? fs2.GetInt32() : ss);
                int sp286 = final.GetProperty("regs").TryGetProperty("sp", out JsonElement fsp2) ? fsp2.GetInt32() : sp;
                for (int i = 0; i < 6; i++)
                {
                    ulong address = (ss286 << 4) + (ulong)((sp286 + i) & 0xFFFF);
                    expectedRam[address] = (initialRam.GetValueOrDefault(address), 0xFF);
                }
            }

            ushort[] frame = [ip, cs, pushedFlags];
            for (int i = 0; i < 6; i++)
            {
                ulong address = ((ulong)ss << 4) + (ulong)((sp - 6 + i) & 0xFFFF);
                int byteMask = i == 4 ? mask & 0xFF : i == 5 ? mask >> 8 : 0xFF;
                expectedRam[address] = ((byte)(frame[i / 2] >> (8 * (i % 2))), byteMask);
                written.Add(address);
            }

            foreach ((ulong address, (byte value, int byteMask)) in expectedRam)
            {
                byte actual = _memory.ReadByte(new PhysicalAddress(address));
                if ((actual & byteMask) != (value & byteMask))
                {
                    errors.Append(CultureInfo.InvariantCulture, $"[{address:X6}]={actual:X2} want {value:X2}; ");
                }
            }

            return errors.Length == 0 ? null : $"(modelled {reason}) " + errors;
        }
        finally
        {
            foreach (ulong address in written)
            {
                _memory.WriteByte(new PhysicalAddress(address), 0);
            }
        }
    }

    /// <summary>
    /// Points the vector at a HLT: the test's own handler if its interrupt table entry is part of the test's memory, else a
    /// HLT at the first free candidate offset in segment 0. Every byte written is added to <paramref name="written"/>.
    /// </summary>
    private (ushort Segment, ushort Offset) InstallHaltHandler(int vector, Dictionary<ulong, byte> initialRam, HashSet<ulong> written)
    {
        const byte halt = 0xF4;
        ulong entry = (ulong)vector * 4;
        if (Enumerable.Range(0, 4).All(i => initialRam.ContainsKey(entry + (ulong)i)))
        {
            var offset = (ushort)(initialRam[entry] | (initialRam[entry + 1] << 8));
            var segment = (ushort)(initialRam[entry + 2] | (initialRam[entry + 3] << 8));
            ulong linear = ((ulong)segment << 4) + offset;
            if (initialRam.GetValueOrDefault(linear) == halt)
            {
                return (segment, offset);
            }
        }

        ushort[] candidates = [0x0400, 0x0500, 0x7C00, 0x9000, 0xF000];
        ushort free = candidates.First(c => !written.Contains(c) && !written.Contains((ulong)c + 1));
        for (int i = 0; i < 4; i++)
        {
            written.Add(entry + (ulong)i);
        }

        written.Add(free);
        _memory.WriteWord(new PhysicalAddress(entry), free);
        _memory.WriteWord(new PhysicalAddress(entry + 2), 0);
        _memory.WriteByte(new PhysicalAddress(free), halt);
        return (0, free);
    }

    /// <summary>Formats the per-opcode table and the total line.</summary>
    public static string FormatReport(IReadOnlyList<OpcodeResult> results, out OpcodeResult total)
    {
        var sb = new StringBuilder();
        sb.AppendLine("| opcode | tests | passed | failed | known failures | excluded |");
        sb.AppendLine("|--------|------:|-------:|-------:|---------------:|---------:|");
        total = new OpcodeResult("TOTAL");
        foreach (OpcodeResult r in results)
        {
            sb.AppendLine(CultureInfo.InvariantCulture, $"| {r.Key} | {r.Tests} | {r.Passed} | {r.Failed} | {r.KnownFailures} | {r.Excluded} |");
            total.Tests += r.Tests;
            total.Passed += r.Passed;
            total.Failed += r.Failed;
            total.Excluded += r.Excluded;
            total.KnownFailures += r.KnownFailures;
        }

        sb.AppendLine();
        sb.AppendLine(CultureInfo.InvariantCulture, $"SST286 TOTAL tests={total.Tests} passed={total.Passed} failed={total.Failed} known-failures={total.KnownFailures} excluded={total.Excluded}");
        return sb.ToString();
    }
}
