using Microsoft.Extensions.Logging;

namespace Virt.Devices;

/// <summary>Source-generated log messages of the VGA adapter.</summary>
internal static partial class VgaLog
{
    [LoggerMessage(EventId = 5300, Level = LogLevel.Debug, Message = "{Device}: guest misuse: {What} 0x{Value:X2} (occurrence {Count})")]
    public static partial void GuestMisuse(ILogger logger, string device, string what, int value, long count);
}
