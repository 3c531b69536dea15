using Microsoft.Extensions.Logging;
using Virt.Cpu;

namespace Virt.Machine;

/// <summary>
/// What the machine says about a crashing guest: the exception chain of each triple fault (logged at Warning, and
/// carried by the stop reason), the reset-loop detection, and the trace points of <see cref="MachineTraceEvents"/>.
/// </summary>
public sealed partial class Machine
{
    /// <summary>Triple faults followed by a reset are logged at Warning up to this count, then only at powers of two.</summary>
    private const int WarnedTripleFaultResets = 4;

    private readonly ResetLoopDetector _resetLoop = new();
    private MachineTracer? _tracer;
    private int _tripleFaults;

    /// <summary>What this machine traces (<see cref="MachineBuilder.WithTrace"/>).</summary>
    public MachineTraceEvents TracedEvents => _tracer?.Events ?? MachineTraceEvents.None;

    /// <summary>Installs the trace points asked for and returns the port space the CPU is to use.</summary>
    private static Virt.Memory.IoPortSpace CreateTracer(MachineTraceEvents trace, ILoggerFactory loggerFactory, Virt.Memory.IoPortSpace ports, out MachineTracer? tracer)
    {
        tracer = trace == MachineTraceEvents.None ? null : new MachineTracer(trace, loggerFactory);
        return tracer?.WrapPorts(ports) ?? ports;
    }

    /// <summary>Connects the CPU to the tracer (after the CPU exists).</summary>
    private void AttachTracer(MachineTracer? tracer)
    {
        _tracer = tracer;
        if (tracer is not null && (tracer.Events & MachineTraceEvents.Interrupts) != 0)
        {
            Cpu.EventObserver = tracer;
        }

        if (tracer is not null && (tracer.Events & MachineTraceEvents.Apic) != 0)
        {
            _apic?.Observe(tracer);
        }
    }

    /// <summary>
    /// The CPU shut down after a triple fault: stop with <see cref="MachineStopKind.Shutdown"/> when the machine stops on
    /// reset, with <see cref="MachineStopKind.ResetLoop"/> when the guest keeps crashing at the same place, else reset it.
    /// </summary>
    /// <returns>The stop, or null when the guest was reset and the run goes on.</returns>
    private MachineStopReason? OnCpuShutdown()
    {
        CpuShutdownReport report = Cpu.LastShutdown ?? new CpuShutdownReport([], Cpu.RetiredInstructions);
        _tripleFaults++;
        TripleFaultAction proposed = ResetBehavior == ResetBehavior.Stop ? TripleFaultAction.Stop : TripleFaultAction.Reset;
        if (Hooks.RunTripleFaultHooks(report, proposed) == TripleFaultAction.Stop)
        {
            LogCrash(report, ResetBehavior == ResetBehavior.Stop ? "the machine stops on reset" : "a triple-fault hook chose to stop");
            return new MachineStopReason(MachineStopKind.Shutdown, $"the CPU shut down after a triple fault: {report.Summarize()}") { Crash = report };
        }

        if (_resetLoop.OnTripleFault(report) && ResetBehavior != ResetBehavior.ResetAlways)
        {
            LogCrash(report, $"reset loop: the same triple fault {_resetLoop.Streak} times in a row, stopping");
            return new MachineStopReason(
                MachineStopKind.ResetLoop,
                $"reset loop: the guest triple-faulted {_resetLoop.Streak} times in a row at the same place without progress: {report.Summarize()}")
            {
                Crash = report,
            };
        }

        int n = _tripleFaults;
        if (n <= WarnedTripleFaultResets || (n & (n - 1)) == 0)
        {
            LogCrash(report, n < WarnedTripleFaultResets ? "resetting" : $"resetting (triple fault {n}; further ones are logged at powers of two)");
        }

        GuestReset("triple fault");
        return null;
    }

    /// <summary>Logs the exception chain at Warning, one line per exception, as QEMU's <c>-d int,cpu_reset</c> shows it.</summary>
    private void LogCrash(CpuShutdownReport report, string action)
    {
        if (!_logger.IsEnabled(LogLevel.Warning))
        {
            return;
        }

        LogTripleFault(_logger, report.RetiredInstructions, report.Exceptions.Count, action);
        for (int i = 0; i < report.Exceptions.Count; i++)
        {
            LogChainLink(_logger, i + 1, report.Exceptions[i].ToString());
        }
    }


    [LoggerMessage(Level = LogLevel.Warning, Message = "CPU shutdown (triple fault) after {Retired} instructions; {Count} exceptions, oldest first; {Action}")]
    private static partial void LogTripleFault(ILogger logger, long retired, int count, string action);

    [LoggerMessage(Level = LogLevel.Warning, Message = "  {Index}: {Exception}")]
    private static partial void LogChainLink(ILogger logger, int index, string exception);
}
