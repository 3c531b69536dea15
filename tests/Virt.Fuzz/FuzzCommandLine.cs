using System.Globalization;

namespace Virt.Fuzz;

/// <summary>The command line of the tool (see <see cref="Usage"/>), parsed into options and written back for child processes.</summary>
public sealed record FuzzCommandLine
{
    /// <summary>The usage text.</summary>
    public const string Usage = """
        Virt.Fuzz: fuzzes the Virt CPU, machine and devices with random guests (see docs/reliability.md).

        usage: Virt.Fuzz [options]
          --seed N                  first seed (guest i has seed N+i; default 1)
          --instructions N          stop after N guest instructions in total (k, m, g suffixes; default 10m; 0: no limit)
          --guests N                stop after N guests (0: no limit)
          --minutes N               stop starting guests after N minutes
          --budget N                instruction budget per guest (default 50000)
          --modes LIST              comma-separated: RealMode, Protected16, Protected16Paging, Protected32,
                                    Protected32Paging, Pae, Ring3, Virtual8086 (default all)
          --generators LIST         RandomBytes, DecodableInstructions (default both)
          --machine-percent P       share of guests run on a whole machine (default 10)
          --determinism-every N     run every N-th guest twice and compare (default 16; 0: off)
          --no-v86                  leave out virtual-8086 mode
          --no-16bit-paging         leave out 16-bit protected mode with paging
          --no-decode-cache         decode every instruction afresh (CpuOptions.DisableDecodeCache)
          --compiled-tier           run the compiled execution tier, compiling blocks at their second entry
          --devices N               device-traffic machines (default 0)
          --device-ops N            operations per device-traffic machine (default 20000)
          --hang-timeout SECONDS    the watchdog's minimum per guest (default 5)
          --out DIR                 write a reproducer test per finding into DIR
          --processes               run batches of guests in child processes (a crash is reported, not fatal)
          --batch N                 guests per child process (default 2000)
          --parallel N              child processes at once (default 1)
        exit status: 0 no finding, 1 findings, 2 bad arguments
        """;

    /// <summary>The campaign options.</summary>
    public FuzzCampaignOptions Options { get; init; } = new();

    /// <summary>Run batches in child processes.</summary>
    public bool Processes { get; init; }

    /// <summary>Guests per child.</summary>
    public int BatchGuests { get; init; } = 2000;

    /// <summary>Children at once.</summary>
    public int Parallel { get; init; } = 1;

    /// <summary>Set in a child: the index of its first guest.</summary>
    public long? ChildFirstIndex { get; init; }

    /// <summary>Parses the arguments.</summary>
    /// <param name="args">The arguments.</param>
    /// <returns>The command line.</returns>
    /// <exception cref="ArgumentException">When an argument is unknown or its value is invalid (the message names it).</exception>
    public static FuzzCommandLine Parse(IReadOnlyList<string> args)
    {
        ArgumentNullException.ThrowIfNull(args);
        var line = new FuzzCommandLine();
        FuzzCampaignOptions o = line.Options;
        for (int i = 0; i < args.Count; i++)
        {
            string name = args[i];
            string Value() => i + 1 < args.Count ? args[++i] : throw new ArgumentException($"{name}: a value is missing.");
            switch (name)
            {
                case "--seed": o = o with { FirstSeed = (ulong)Number(name, Value()) }; break;
                case "--instructions": o = o with { InstructionTarget = Number(name, Value()) }; break;
                case "--guests": o = o with { MaxGuests = (int)Number(name, Value()) }; break;
                case "--budget": o = o with { BudgetPerGuest = Number(name, Value()) }; break;
                case "--modes": o = o with { Modes = List<FuzzMode>(name, Value()) }; break;
                case "--generators": o = o with { Generators = List<FuzzGenerator>(name, Value()) }; break;
                case "--machine-percent": o = o with { MachinePercent = (int)Number(name, Value()) }; break;
                case "--determinism-every": o = o with { DeterminismCheckEvery = (int)Number(name, Value()) }; break;
                case "--no-v86": o = o with { IncludeVirtual8086 = false }; break;
                case "--no-16bit-paging": o = o with { IncludeSixteenBitPaging = false }; break;
                case "--no-decode-cache": o = o with { DisableDecodeCache = true }; break;
                case "--compiled-tier": o = o with { CompiledTier = true }; break;
                case "--devices": o = o with { DeviceMachines = (int)Number(name, Value()) }; break;
                case "--device-ops": o = o with { DeviceOperationsPerMachine = (int)Number(name, Value()) }; break;
                case "--minutes": o = o with { Duration = TimeSpan.FromMinutes(Number(name, Value())) }; break;
                case "--hang-timeout": o = o with { MinimumHangTimeout = TimeSpan.FromSeconds(Number(name, Value())) }; break;
                case "--out": o = o with { ReproducerDirectory = Value() }; break;
                case "--processes": line = line with { Processes = true }; break;
                case "--batch": line = line with { BatchGuests = (int)Number(name, Value()) }; break;
                case "--parallel": line = line with { Parallel = (int)Number(name, Value()) }; break;
                case "--child": line = line with { ChildFirstIndex = Number(name, Value()) }; break;
                default: throw new ArgumentException($"{name}: unknown option.");
            }
        }

        o.Validate();
        return line with { Options = o };
    }

    /// <summary>The arguments that give <paramref name="o"/> back (for a child process; the reproducer directory included).</summary>
    /// <param name="o">The options.</param>
    /// <returns>The arguments.</returns>
    public static IReadOnlyList<string> ToArguments(FuzzCampaignOptions o)
    {
        ArgumentNullException.ThrowIfNull(o);
        CultureInfo c = CultureInfo.InvariantCulture;
        var a = new List<string>
        {
            "--seed", o.FirstSeed.ToString(c),
            "--instructions", o.InstructionTarget.ToString(c),
            "--guests", o.MaxGuests.ToString(c),
            "--budget", o.BudgetPerGuest.ToString(c),
            "--modes", string.Join(',', o.Modes),
            "--generators", string.Join(',', o.Generators),
            "--machine-percent", o.MachinePercent.ToString(c),
            "--determinism-every", o.DeterminismCheckEvery.ToString(c),
            "--devices", o.DeviceMachines.ToString(c),
            "--device-ops", o.DeviceOperationsPerMachine.ToString(c),
            "--hang-timeout", ((long)Math.Ceiling(o.MinimumHangTimeout.TotalSeconds)).ToString(c),
        };
        if (!o.IncludeVirtual8086)
        {
            a.Add("--no-v86");
        }

        if (!o.IncludeSixteenBitPaging)
        {
            a.Add("--no-16bit-paging");
        }

        if (o.Duration is { } duration)
        {
            a.Add("--minutes");
            a.Add(((long)Math.Ceiling(duration.TotalMinutes)).ToString(c));
        }

        if (o.DisableDecodeCache)
        {
            a.Add("--no-decode-cache");
        }

        if (o.CompiledTier)
        {
            a.Add("--compiled-tier");
        }

        if (o.ReproducerDirectory is { } directory)
        {
            a.Add("--out");
            a.Add(directory);
        }

        return a;
    }

    private static long Number(string name, string text)
    {
        long scale = 1;
        string digits = text.Replace("_", string.Empty, StringComparison.Ordinal);
        if (digits.Length > 0 && char.ToLowerInvariant(digits[^1]) is 'k' or 'm' or 'g')
        {
            scale = char.ToLowerInvariant(digits[^1]) switch { 'k' => 1_000, 'm' => 1_000_000, _ => 1_000_000_000 };
            digits = digits[..^1];
        }

        if (!long.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out long value) || value < 0)
        {
            throw new ArgumentException($"{name}: '{text}' is not a non-negative number.");
        }

        return value * scale;
    }

    private static T[] List<T>(string name, string text)
        where T : struct, Enum =>
        [.. text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(item =>
            Enum.TryParse(item, ignoreCase: true, out T value) && Enum.IsDefined(value)
                ? value
                : throw new ArgumentException($"{name}: '{item}' is not one of {string.Join(", ", Enum.GetNames<T>())}."))];
}
