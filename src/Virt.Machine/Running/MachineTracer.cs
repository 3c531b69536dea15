using System.Globalization;
using Microsoft.Extensions.Logging;
using Virt.Cpu;
using Virt.Devices;
using Virt.Memory;

namespace Virt.Machine;

/// <summary>
/// The machine's trace points (<see cref="MachineTraceEvents"/>), each logged at Trace level under its own category.
/// Created only when some tracing is on; the parts that are off install nothing.
/// </summary>
internal sealed partial class MachineTracer : ICpuEventObserver, IApicEventObserver
{
    private readonly ILogger _interrupts;
    private readonly ILogger _resets;
    private readonly ILogger _apic;

    public MachineTracer(MachineTraceEvents events, ILoggerFactory loggerFactory)
    {
        Events = events;
        _interrupts = loggerFactory.CreateLogger(MachineLogCategories.TraceInterrupts);
        _resets = loggerFactory.CreateLogger(MachineLogCategories.TraceResets);
        _apic = loggerFactory.CreateLogger(MachineLogCategories.TraceApic);
        PortLogger = loggerFactory.CreateLogger(MachineLogCategories.TracePortIo);
    }

    /// <summary>What is traced.</summary>
    public MachineTraceEvents Events { get; }

    private ILogger PortLogger { get; }

    /// <summary>
    /// The port space the CPU should use: <paramref name="ports"/> itself, or, when port I/O is traced, a space whose one
    /// device spans all 65,536 ports, logs each access and forwards it to <paramref name="ports"/> (so statistics, strict
    /// mode and every device behave as without it).
    /// </summary>
    public IoPortSpace WrapPorts(IoPortSpace ports)
    {
        if ((Events & MachineTraceEvents.PortIo) == 0)
        {
            return ports;
        }

        var traced = new IoPortSpace();
        traced.Register("port I/O trace", 0, IoPortSpace.PortCount, new TracingPortDevice(ports, PortLogger));
        return traced;
    }

    /// <inheritdoc />
    public void OnInterrupt(in CpuExceptionRecord record)
    {
        if (_interrupts.IsEnabled(LogLevel.Trace))
        {
            string ip = record.IsLongMode
                ? record.Rip.ToString("X16", CultureInfo.InvariantCulture)
                : record.Eip.ToString("X8", CultureInfo.InvariantCulture);
            LogInterrupt(_interrupts, record.Describe(), record.CodeSelector, ip, record.ModeDescription, record.FormatQemuStyle(), record.Eflags);
        }
    }

    /// <summary>Logs a reset of the guest (when resets are traced).</summary>
    /// <param name="source">What asked for it.</param>
    /// <param name="resetCount">The guest resets so far, this one included.</param>
    /// <param name="cpu">The CPU before it is reset.</param>
    public void OnReset(string source, int resetCount, Virt.Cpu.Cpu cpu)
    {
        if ((Events & MachineTraceEvents.Resets) != 0 && _resets.IsEnabled(LogLevel.Trace))
        {
            LogReset(_resets, resetCount, source, cpu.GetSegment(SegmentRegister.Cs).Selector, cpu.Eip, cpu.RetiredInstructions);
        }
    }

    /// <inheritdoc />
    public void OnRegisterWrite(string device, string register, ulong value)
    {
        if (_apic.IsEnabled(LogLevel.Trace))
        {
            LogApicWrite(_apic, device, register, value);
        }
    }

    /// <inheritdoc />
    public void OnInterruptEvent(string device, string description)
    {
        if (_apic.IsEnabled(LogLevel.Trace))
        {
            LogApicEvent(_apic, device, description);
        }
    }

    [LoggerMessage(Level = LogLevel.Trace, Message = "{Device} write {Register} = 0x{Value:X}")]
    private static partial void LogApicWrite(ILogger logger, string device, string register, ulong value);

    [LoggerMessage(Level = LogLevel.Trace, Message = "{Device} {Description}")]
    private static partial void LogApicEvent(ILogger logger, string device, string description);

    // CS:IP and the mode, then the state in QEMU's -d int layout (CpuExceptionRecord.FormatQemuStyle), so the two logs can
    // be compared line by line; RIP and CR2 have 16 digits in IA-32e mode.
    [LoggerMessage(Level = LogLevel.Trace, Message = "{Event} at {Cs:X4}:{Ip} ({Mode}) {State} EFLAGS={Eflags:X8}")]
    private static partial void LogInterrupt(ILogger logger, string @event, ushort cs, string ip, string mode, string state, uint eflags);

    [LoggerMessage(Level = LogLevel.Trace, Message = "Reset {Count} ({Source}) at {Cs:X4}:{Eip:X8} after {Retired} instructions")]
    private static partial void LogReset(ILogger logger, int count, string source, ushort cs, uint eip, long retired);

    [LoggerMessage(Level = LogLevel.Trace, Message = "{Direction} port 0x{Port:X4} width {Width} value 0x{Value:X}")]
    private static partial void LogPortAccess(ILogger logger, string direction, ushort port, int width, uint value);

    /// <summary>Logs each access and forwards it to the machine's port space; registered at port 0, so offsets are ports.</summary>
    private sealed class TracingPortDevice(IoPortSpace inner, ILogger logger) : IPortDevice
    {
        public AccessWidths SupportedWidths => AccessWidths.UpToDoubleWord;

        public uint Read(ushort offset, int sizeInBytes)
        {
            uint value = inner.Read(offset, sizeInBytes);
            LogPortAccess(logger, "IN", offset, sizeInBytes, value);
            return value;
        }

        public void Write(ushort offset, int sizeInBytes, uint value)
        {
            LogPortAccess(logger, "OUT", offset, sizeInBytes, value);
            inner.Write(offset, sizeInBytes, value);
        }
    }
}
