using Microsoft.Extensions.Logging;

namespace Virt.Devices;

/// <summary>Source-generated log messages of the UART.</summary>
internal static partial class UartLog
{
    [LoggerMessage(EventId = 5100, Level = LogLevel.Debug, Message = "{Device}: guest misuse: {What} (occurrence {Count})")]
    public static partial void GuestMisuse(ILogger logger, string device, string what, long count);
}
