using Microsoft.Extensions.Logging;
using Virt.Cpu;
using Virt.Devices;
using Virt.Machine;
using Virt.Machine.Boot;
using Virt.Memory;
using Virt.Run;
using Virt.Run.CommandLine;
using Virt.Run.Demo;

// Virt.Run: a QEMU-style command line for Virt. See RunOptionsParser.HelpText or `--help`.
RunOptions options;
try
{
    options = RunOptionsParser.Parse(args);
}
catch (RunOptionsException e)
{
    Console.Error.WriteLine($"Virt.Run: {e.Message}");
    return ProcessExitStatuses.BadInput;
}

if (options.ShowHelp)
{
    Console.WriteLine(RunOptionsParser.HelpText);
    return ProcessExitStatuses.Success;
}

if (options.ShowDeviceHelp)
{
    Console.WriteLine(RunOptionsParser.DeviceHelpText);
    return ProcessExitStatuses.Success;
}

if (options.ShowTraceHelp)
{
    Console.WriteLine(RunOptionsParser.TraceHelpText);
    return ProcessExitStatuses.Success;
}

using var disposables = new DisposableList();
Virt.Machine.Machine machine;
try
{
    machine = MachineFactory.Create(options, disposables);
    try
    {
        SnapshotRunner.RestoreIfAsked(machine, options);
    }
    catch (RunOptionsException)
    {
        machine.Dispose();
        throw;
    }
}
catch (MachineConfigurationException e)
{
    Console.Error.WriteLine($"Virt.Run: {MachineFactory.DescribeConfigurationError(e)}");
    return ProcessExitStatuses.BadInput;
}
catch (RunOptionsException e)
{
    Console.Error.WriteLine($"Virt.Run: {e.Message}");
    return ProcessExitStatuses.BadInput;
}

using (machine)
{
    using var cancel = new CancellationTokenSource();
    Console.CancelKeyPress += (_, e) =>
    {
        e.Cancel = true;
        cancel.Cancel();
    };
    MachineStopReason stop;
    long runStart = System.Diagnostics.Stopwatch.GetTimestamp();
    try
    {
        stop = options.GdbEndPoint is { } gdbEndPoint
            ? await GdbRun.RunAsync(machine, gdbEndPoint, options, cancel.Token)
            : await SnapshotRunner.RunAsync(machine, options, cancel.Token);
    }
    catch (RunOptionsException e)
    {
        Console.Error.WriteLine($"Virt.Run: {e.Message}");
        return ProcessExitStatuses.BadInput;
    }

    // A guest that writes isa-debug-exit or powers off right after its last line may leave characters in a UART whose
    // host end was still catching up: hand them over before the streams close.
    foreach (Uart16550 uart in machine.Devices.OfType<Uart16550>())
    {
        uart.FlushTransmitter(TimeSpan.FromSeconds(2));
    }

    disposables.Flush();
    if (options.TierStatistics)
    {
        TierStatisticsReport.Write(Console.Error, machine.Cpu, System.Diagnostics.Stopwatch.GetElapsedTime(runStart));
    }

    if (options.Display && machine.FindDevice<VgaAdapter>() is { } vga)
    {
        // Without a window system the "display" is the text screen, printed when the guest stops.
        Console.Out.Flush();
        ScreenPrinter.Print(vga, Console.Out);
    }

    if (options.ScreenshotPath is { } screenshot)
    {
        try
        {
            using var png = new FileStream(screenshot, FileMode.Create, FileAccess.Write, FileShare.Read);
            if (!machine.SaveScreenshot(png))
            {
                Console.Error.WriteLine("Virt.Run: --screenshot: the machine has no display adapter (-vga none)");
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            Console.Error.WriteLine($"Virt.Run: --screenshot: cannot write '{screenshot}': {e.Message}");
            return ProcessExitStatuses.BadInput;
        }
    }

    if (options.ScreenTextPath is { } screenText)
    {
        try
        {
            // The lines the adapter shows (not a serial mirror), for scripts and tests that check what a user would see.
            if (machine.CaptureTextScreen() is { } lines)
            {
                File.WriteAllLines(screenText, lines);
            }
            else
            {
                Console.Error.WriteLine("Virt.Run: --screen-text: the machine has no display adapter (-vga none) or the screen is not in a text mode");
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            Console.Error.WriteLine($"Virt.Run: --screen-text: cannot write '{screenText}': {e.Message}");
            return ProcessExitStatuses.BadInput;
        }
    }

    if (options.LogLevel is "information" or "debug" or "trace" || stop.Kind is not (MachineStopKind.HaltedForGood or MachineStopKind.DebugExit or MachineStopKind.PoweredOff))
    {
        Console.Error.WriteLine($"Virt.Run: stopped: {stop}");
    }

    // One table for every outcome (MachineStopReason.ProcessExitStatus, listed in --help): an exhausted budget is 124
    // like a timeout, a crashed guest 4.
    return stop.ProcessExitStatus;
}
