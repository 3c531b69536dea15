using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using Virt.Cpu;
using Virt.Machine;

namespace Virt.Benchmarks;

/// <summary>
/// The tier benchmark's loops against QEMU TCG in the same run: each loop becomes a <see cref="QemuGuestImage"/> that
/// QEMU (<c>-bios</c>) and Virt (<see cref="MachineBuilder.WithFirmware(ReadOnlySpan{byte}, string)"/>) both boot; each
/// engine runs it at two iteration counts N and 2N, and the difference of the two run times is the time of N iterations,
/// with start-up, mode setup and (for the compiled tier) compilation cancelled out. Instructions per iteration come from
/// Virt's interpreter (the retired count of the same image, checked against GuestPrograms' formulas). The engines take
/// turns within every repetition, so that the shared machine's load falls on all of them alike.
/// </summary>
public static class QemuRunner
{
    /// <summary>QEMU's executable, looked up on PATH.</summary>
    private const string QemuExecutable = "qemu-system-x86_64";

    /// <summary>Instructions of the check runs (both emulators, same iteration count, same digest expected).</summary>
    private const double CheckInstructions = 3e6;

    /// <summary>A calibration run must spend at least this long beyond the check run for its rate to size N.</summary>
    private const double CalibrationSeconds = 0.25;

    /// <summary>How much each calibration step grows the iteration count.</summary>
    private const uint CalibrationGrowth = 4;

    /// <summary>No single run may take longer than this; a stuck guest ends the benchmark instead of hanging it.</summary>
    private static readonly TimeSpan s_runTimeout = TimeSpan.FromMinutes(10);

    private enum Engine
    {
        Qemu,
        Interpreter,
        Compiled,
    }

    /// <summary>Runs every loop (or those whose name starts with <paramref name="only"/>) and prints a line each and a table.</summary>
    /// <param name="seconds">The CPU time each engine's N run should spend in the loop (2N takes twice that).</param>
    /// <param name="only">When set, runs only the loops whose name starts with it.</param>
    /// <param name="repetitions">How many times each engine runs the N/2N pair.</param>
    public static void Run(double seconds, string? only = null, int repetitions = 5)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(seconds);
        ArgumentOutOfRangeException.ThrowIfLessThan(repetitions, 1);
        string qemuVersion = QemuVersion();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Virt against QEMU TCG ({qemuVersion}; .NET {Environment.Version}; {Environment.ProcessorCount} cores; {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC; load average {LoadAverage()})"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"method: N and 2N iterations per engine, time(2N) - time(N); clock: {(ChildCpuTime.IsAvailable ? "process CPU time (QEMU: the child's, from getrusage; Virt: the running thread's)" : "wall clock")}; {repetitions} repetitions; N sized for {seconds:F1} s"));
        DirectoryInfo directory = Directory.CreateTempSubdirectory("virt-qemu-mips-");

        // A benchmark stopped by a signal (SIGTERM raises ProcessExit) removes its images too.
        void RemoveImages(object? sender, EventArgs e) => DeleteImages(directory);
        AppDomain.CurrentDomain.ProcessExit += RemoveImages;
        var rows = new List<string>();
        try
        {
            foreach (QemuGuestLoop loop in QemuGuestLoop.All)
            {
                if (only is null || loop.Name.StartsWith(only, StringComparison.Ordinal))
                {
                    rows.Add(MeasureLoop(loop, seconds, repetitions, directory.FullName));
                }
            }
        }
        finally
        {
            AppDomain.CurrentDomain.ProcessExit -= RemoveImages;
            DeleteImages(directory);
        }

        Console.WriteLine();
        Console.WriteLine("| Loop | QEMU MIPS | Virt interpreter MIPS | Virt compiled MIPS | Compiled / QEMU | Interpreter / QEMU | Spread QEMU / interpreter / compiled |");
        Console.WriteLine("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
        foreach (string row in rows)
        {
            Console.WriteLine(row);
        }
    }

    /// <summary>
    /// Writes the image of one loop to a file and prints how QEMU and Virt.Run boot it (both exit with the same status,
    /// <c>(digest &lt;&lt; 1) | 1</c>).
    /// </summary>
    /// <param name="name">The loop's name (tier-alu, ...).</param>
    /// <param name="iterations">Loop iterations.</param>
    /// <param name="path">The file to write.</param>
    public static void WriteImage(string name, uint iterations, string path)
    {
        QemuGuestLoop loop = QemuGuestLoop.All.FirstOrDefault(l => l.Name == name)
            ?? throw new ArgumentException($"qemu-image: no loop named '{name}'; the loops are {string.Join(", ", QemuGuestLoop.All.Select(l => l.Name))}.", nameof(name));
        File.WriteAllBytes(path, QemuGuestImage.Build(loop, iterations));
        Console.WriteLine($"{QemuExecutable} {string.Join(' ', QemuArguments(path))}");
        Console.WriteLine($"dotnet run -c Release --project samples/Virt.Run -- -bios {path} -display none -device isa-debug-exit,iobase=0x{QemuGuestImage.DebugExitPort:x},iosize={QemuGuestImage.DebugExitSizeInPorts} --cpu-tier compiled");
    }

    private static string MeasureLoop(QemuGuestLoop loop, double seconds, int repetitions, string directory)
    {
        double perIteration = (loop.LoopInstructions(2000) - loop.LoopInstructions(1000)) / 1000.0;

        // Check: Virt's interpreter and compiled tier and QEMU run the same image to the same digest, and the retired count
        // is the loop's count plus a fixed overhead (the firmware's setup and exit), at N and 2N.
        uint checkIterations = (uint)Math.Max(1, CheckInstructions / perIteration);
        RunResult interpreted1 = RunVirt(QemuGuestImage.Build(loop, checkIterations), ExecutionTier.Interpreter);
        RunResult interpreted2 = RunVirt(QemuGuestImage.Build(loop, checkIterations * 2), ExecutionTier.Interpreter);
        long overhead = interpreted1.Instructions - loop.LoopInstructions(checkIterations);
        if (interpreted2.Instructions - loop.LoopInstructions(checkIterations * 2) != overhead)
        {
            throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture,
                $"{loop.Name}: the image's overhead is not constant: {overhead} at {checkIterations} iterations, {interpreted2.Instructions - loop.LoopInstructions(checkIterations * 2)} at twice that."));
        }

        RunResult compiled1 = RunVirt(QemuGuestImage.Build(loop, checkIterations), ExecutionTier.Compiled);
        RunResult compiled2 = RunVirt(QemuGuestImage.Build(loop, checkIterations * 2), ExecutionTier.Compiled);
        RunResult qemu1 = RunQemu(Write(directory, loop, checkIterations), s_runTimeout);
        RunResult qemu2 = RunQemu(Write(directory, loop, checkIterations * 2), s_runTimeout);
        bool same = compiled1.Instructions == interpreted1.Instructions && compiled2.Instructions == interpreted2.Instructions
            && compiled1.ExitStatus == interpreted1.ExitStatus && compiled2.ExitStatus == interpreted2.ExitStatus
            && qemu1.ExitStatus == interpreted1.ExitStatus && qemu2.ExitStatus == interpreted2.ExitStatus;
        string check = string.Create(CultureInfo.InvariantCulture,
            $"check: {checkIterations}/{checkIterations * 2} iterations, overhead {overhead} instructions, exit status Virt interpreter {interpreted1.ExitStatus}/{interpreted2.ExitStatus} compiled {compiled1.ExitStatus}/{compiled2.ExitStatus} QEMU {qemu1.ExitStatus}/{qemu2.ExitStatus} -> {(same ? "same" : "DIFFERENT")}");
        Console.WriteLine($"{loop.Name,-14} {check}");
        if (!same)
        {
            throw new InvalidOperationException($"{loop.Name}: the engines disagree ({check}).");
        }

        // Sizing: each engine's N makes its N run spend about `seconds` in the loop.
        var iterations = new Dictionary<Engine, uint>
        {
            [Engine.Qemu] = Size(Rate(loop, n => RunQemu(Write(directory, loop, n), s_runTimeout), checkIterations, qemu1), seconds, perIteration),
            [Engine.Interpreter] = Size(Rate(loop, n => RunVirt(QemuGuestImage.Build(loop, n), ExecutionTier.Interpreter), checkIterations, interpreted1), seconds, perIteration),
            [Engine.Compiled] = Size(Rate(loop, n => RunVirt(QemuGuestImage.Build(loop, n), ExecutionTier.Compiled), checkIterations, compiled1), seconds, perIteration),
        };

        Engine[] engines = [Engine.Qemu, Engine.Interpreter, Engine.Compiled];
        var images = new Dictionary<(Engine, int), (byte[] Image, string Path)>();
        foreach (Engine engine in engines)
        {
            foreach (int factor in new[] { 1, 2 })
            {
                uint n = iterations[engine] * (uint)factor;
                images[(engine, factor)] = (QemuGuestImage.Build(loop, n), engine == Engine.Qemu ? Write(directory, loop, n) : string.Empty);
            }
        }

        var cpuMips = engines.ToDictionary(e => e, _ => new double[repetitions]);
        var wallMips = engines.ToDictionary(e => e, _ => new double[repetitions]);
        var startupSeconds = new double[repetitions];
        for (int r = 0; r < repetitions; r++)
        {
            for (int k = 0; k < engines.Length; k++)
            {
                // The engines take turns in a rotating order, and N and 2N swap places every other repetition.
                Engine engine = engines[(k + r) % engines.Length];
                int[] order = (r & 1) == 0 ? [1, 2] : [2, 1];
                var results = new Dictionary<int, RunResult>();
                foreach (int factor in order)
                {
                    uint n = iterations[engine] * (uint)factor;
                    (byte[] image, string path) = images[(engine, factor)];
                    RunResult result = engine switch
                    {
                        Engine.Qemu => RunQemu(path, s_runTimeout),
                        Engine.Interpreter => RunVirt(image, ExecutionTier.Interpreter),
                        _ => RunVirt(image, ExecutionTier.Compiled),
                    };
                    if (engine != Engine.Qemu && result.Instructions != overhead + loop.LoopInstructions(n))
                    {
                        throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture,
                            $"{loop.Name}: {engine} retired {result.Instructions} instructions at {n} iterations, expected {overhead + loop.LoopInstructions(n)}."));
                    }

                    results[factor] = result;
                }

                double instructions = loop.LoopInstructions(iterations[engine] * 2) - loop.LoopInstructions(iterations[engine]);
                cpuMips[engine][r] = instructions / (results[2].CpuSeconds - results[1].CpuSeconds) / 1e6;
                wallMips[engine][r] = instructions / (results[2].Seconds - results[1].Seconds) / 1e6;
                if (engine == Engine.Qemu)
                {
                    startupSeconds[r] = (2 * results[1].Seconds) - results[2].Seconds;
                }
            }
        }

        bool cpuClock = ChildCpuTime.IsAvailable;
        Dictionary<Engine, double[]> primary = cpuClock ? cpuMips : wallMips;
        double qemu = Median(primary[Engine.Qemu]);
        double interpreter = Median(primary[Engine.Interpreter]);
        double compiled = Median(primary[Engine.Compiled]);
        string Spread(Engine e) => string.Create(CultureInfo.InvariantCulture, $"{(primary[e].Max() - primary[e].Min()) / Median(primary[e]) * 100:F0}%");
        string Each(Engine e) => string.Join(' ', primary[e].Select(x => x.ToString("F0", CultureInfo.InvariantCulture)));
        string compiledOverQemu = string.Join(' ', Enumerable.Range(0, repetitions).Select(r => (primary[Engine.Compiled][r] / primary[Engine.Qemu][r]).ToString("F3", CultureInfo.InvariantCulture)));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{loop.Name,-14} N: QEMU {iterations[Engine.Qemu]} interpreter {iterations[Engine.Interpreter]} compiled {iterations[Engine.Compiled]} iterations ({perIteration:F2} instructions each)"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{loop.Name,-14} {(cpuClock ? "cpu" : "wall")}-MIPS median QEMU={qemu,7:F1} interpreter={interpreter,7:F1} compiled={compiled,7:F1} compiled/QEMU={compiled / qemu:F3} interpreter/QEMU={interpreter / qemu:F3}"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{loop.Name,-14} per repetition: QEMU=[{Each(Engine.Qemu)}] interpreter=[{Each(Engine.Interpreter)}] compiled=[{Each(Engine.Compiled)}] compiled/QEMU=[{compiledOverQemu}] spread (max-min)/median: QEMU {Spread(Engine.Qemu)} interpreter {Spread(Engine.Interpreter)} compiled {Spread(Engine.Compiled)}"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{loop.Name,-14} wall-MIPS median QEMU={Median(wallMips[Engine.Qemu]),7:F1} interpreter={Median(wallMips[Engine.Interpreter]),7:F1} compiled={Median(wallMips[Engine.Compiled]),7:F1} compiled/QEMU={Median(wallMips[Engine.Compiled]) / Median(wallMips[Engine.Qemu]):F3}; QEMU start-up and mode setup (wall, 2 t(N) - t(2N)) median {Median(startupSeconds) * 1000:F0} ms"));
        return string.Create(CultureInfo.InvariantCulture,
            $"| {loop.Name} | {qemu:F0} | {interpreter:F1} | {compiled:F1} | {compiled / qemu:F3} | {interpreter / qemu:F3} | {Spread(Engine.Qemu)} / {Spread(Engine.Interpreter)} / {Spread(Engine.Compiled)} |");
    }

    /// <summary>
    /// An engine's rate in instructions per second of the benchmark's clock: runs of growing iteration counts against the
    /// check run at <paramref name="baseIterations"/>, until the difference is long enough to measure.
    /// </summary>
    private static double Rate(QemuGuestLoop loop, Func<uint, RunResult> run, uint baseIterations, RunResult baseRun)
    {
        uint n = baseIterations;
        while (true)
        {
            n = (uint)Math.Min((ulong)n * CalibrationGrowth, uint.MaxValue / 2);
            RunResult result = run(n);
            double seconds = Clock(result) - Clock(baseRun);
            if (seconds >= CalibrationSeconds || n == uint.MaxValue / 2)
            {
                return (loop.LoopInstructions(n) - loop.LoopInstructions(baseIterations)) / Math.Max(seconds, 1e-3);
            }
        }
    }

    /// <summary>The benchmark's clock: CPU seconds where the child's CPU time can be read (Linux), wall-clock seconds otherwise.</summary>
    private static double Clock(RunResult result) => ChildCpuTime.IsAvailable ? result.CpuSeconds : result.Seconds;

    /// <summary>The iteration count that makes a run at <paramref name="rate"/> instructions per second last <paramref name="seconds"/>.</summary>
    private static uint Size(double rate, double seconds, double perIteration) =>
        (uint)Math.Clamp(rate * seconds / perIteration, 1000, (uint.MaxValue / 2) - 1);

    private static string Write(string directory, QemuGuestLoop loop, uint iterations)
    {
        string path = Path.Combine(directory, string.Create(CultureInfo.InvariantCulture, $"{loop.Name}-{iterations}.bin"));
        File.WriteAllBytes(path, QemuGuestImage.Build(loop, iterations));
        return path;
    }

    /// <summary>Boots the image on a Virt machine (the default board, isa-debug-exit at F4h) and times the run to its exit.</summary>
    private static RunResult RunVirt(byte[] image, ExecutionTier tier)
    {
        using Machine.Machine machine = new MachineBuilder()
            .WithFirmware(image, "QEMU comparison image")
            .WithDebugExit(QemuGuestImage.DebugExitPort, QemuGuestImage.DebugExitSizeInPorts)
            .WithCpu(new CpuOptions { ExecutionTier = tier })
            .Build();
        // Machine.Run runs the guest on this thread: its CPU time leaves out the runtime's GC and JIT threads, whose work
        // lands on one run or the other at random and, on a loaded machine, swamped the difference of the two runs.
        double cpuStart = ThreadCpuTime.Seconds();
        long start = Stopwatch.GetTimestamp();
        MachineStopReason stop = machine.Run(timeout: s_runTimeout);
        double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
        double cpuSeconds = ThreadCpuTime.Seconds() - cpuStart;
        if (stop.Kind != MachineStopKind.DebugExit)
        {
            throw new InvalidOperationException($"The image did not exit through isa-debug-exit on Virt ({tier}): {stop}.");
        }

        return new RunResult(seconds, cpuSeconds, machine.Cpu.RetiredInstructions, stop.ProcessExitStatus);
    }

    /// <summary>Boots the image in QEMU TCG and times the process from start to exit.</summary>
    private static RunResult RunQemu(string imagePath, TimeSpan timeout)
    {
        var info = new ProcessStartInfo(QemuExecutable)
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (string argument in QemuArguments(imagePath))
        {
            info.ArgumentList.Add(argument);
        }

        double cpuStart = ChildCpuTime.Seconds();
        long start = Stopwatch.GetTimestamp();
        using Process process = Process.Start(info) ?? throw new InvalidOperationException($"{QemuExecutable} did not start.");
        Task<string> output = process.StandardOutput.ReadToEndAsync();
        Task<string> error = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(timeout))
        {
            process.Kill();
            process.WaitForExit();
            throw new InvalidOperationException($"{QemuExecutable} did not exit within {timeout} on {imagePath}.");
        }

        process.WaitForExit();
        double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
        double cpuSeconds = ChildCpuTime.Seconds() - cpuStart;
        int status = process.ExitCode;
        if ((status & 1) == 0)
        {
            throw new InvalidOperationException($"{QemuExecutable} exited with {status}, not through isa-debug-exit (an odd status), on {imagePath}: {output.Result}{error.Result}");
        }

        return new RunResult(seconds, cpuSeconds, 0, status);
    }

    /// <summary>QEMU's command line: the PC board under TCG, no default devices (no VGA, NIC, serial or monitor), the image as its BIOS.</summary>
    /// <param name="imagePath">The image file.</param>
    /// <returns>The arguments.</returns>
    public static IReadOnlyList<string> QemuArguments(string imagePath) =>
    [
        "-M", "pc", "-accel", "tcg", "-m", "128M", "-nodefaults", "-display", "none", "-no-reboot",
        "-bios", imagePath,
        "-device", string.Create(CultureInfo.InvariantCulture, $"isa-debug-exit,iobase=0x{QemuGuestImage.DebugExitPort:x},iosize=0x{QemuGuestImage.DebugExitSizeInPorts:x2}"),
    ];

    private static string QemuVersion()
    {
        try
        {
            using Process process = Process.Start(new ProcessStartInfo(QemuExecutable, "--version") { RedirectStandardOutput = true, UseShellExecute = false })
                ?? throw new InvalidOperationException($"{QemuExecutable} did not start.");
            string firstLine = process.StandardOutput.ReadLine() ?? string.Empty;
            process.StandardOutput.ReadToEnd();
            process.WaitForExit();
            return firstLine.Trim();
        }
        catch (Win32Exception e)
        {
            throw new InvalidOperationException($"qemu: {QemuExecutable} was not found on PATH ({e.Message}); install QEMU (the system emulator for x86-64) to compare against it.", e);
        }
    }

    private static void DeleteImages(DirectoryInfo directory)
    {
        directory.Refresh();
        if (directory.Exists)
        {
            directory.Delete(recursive: true);
        }
    }

    private static string LoadAverage()
    {
        const string loadAverageFile = "/proc/loadavg";
        return File.Exists(loadAverageFile) ? string.Join(' ', File.ReadAllText(loadAverageFile).Split(' ').Take(3)) : "n/a";
    }

    private static double Median(double[] values)
    {
        double[] sorted = (double[])values.Clone();
        Array.Sort(sorted);
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
    }

    /// <summary>One run: wall-clock and CPU seconds, instructions retired (Virt only) and the process exit status it maps to.</summary>
    private readonly record struct RunResult(double Seconds, double CpuSeconds, long Instructions, int ExitStatus);
}
