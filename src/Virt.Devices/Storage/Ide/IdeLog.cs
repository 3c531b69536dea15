using Microsoft.Extensions.Logging;

namespace Virt.Devices;

/// <summary>The IDE controller's log messages.</summary>
internal static partial class IdeLog
{
    [LoggerMessage(EventId = 5500, Level = LogLevel.Trace, Message = "{Channel} unit {Unit}: command {Command:X2}h")]
    public static partial void Command(ILogger logger, string channel, int unit, byte command);

    [LoggerMessage(EventId = 5501, Level = LogLevel.Warning, Message = "{Channel} unit {Unit}: the host's block device '{Device}' failed ({Reason}); the guest sees a device error")]
    public static partial void HostFailure(ILogger logger, string channel, int unit, string? device, string reason);
}
