using Microsoft.Extensions.Logging;
using Virt.Devices;

namespace Virt.Machine;

/// <summary>Logs every PCI configuration access (<see cref="MachineTraceEvents.Pci"/>) at Trace level.</summary>
internal sealed partial class PciTraceObserver(ILoggerFactory loggerFactory) : IPciConfigurationObserver
{
    private readonly ILogger _logger = loggerFactory.CreateLogger(MachineLogCategories.TracePci);

    public void OnConfigurationRead(PciFunctionAddress address, int register, int sizeInBytes, uint value, bool present)
    {
        if (_logger.IsEnabled(LogLevel.Trace))
        {
            LogAccess(_logger, "read", address.ToString(), register, sizeInBytes, value, present ? string.Empty : " (no function)");
        }
    }

    public void OnConfigurationWrite(PciFunctionAddress address, int register, int sizeInBytes, uint value, bool present)
    {
        if (_logger.IsEnabled(LogLevel.Trace))
        {
            LogAccess(_logger, "write", address.ToString(), register, sizeInBytes, value, present ? string.Empty : " (no function)");
        }
    }

    [LoggerMessage(Level = LogLevel.Trace, Message = "pci config {Direction} {Address} register 0x{Register:X2} width {Width} value 0x{Value:X}{Absent}")]
    private static partial void LogAccess(ILogger logger, string direction, string address, int register, int width, uint value, string absent);
}
