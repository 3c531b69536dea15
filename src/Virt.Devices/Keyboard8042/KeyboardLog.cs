using Microsoft.Extensions.Logging;

namespace Virt.Devices;

/// <summary>Source-generated log messages of the keyboard controller and its devices.</summary>
internal static partial class KeyboardLog
{
    [LoggerMessage(EventId = 5200, Level = LogLevel.Debug, Message = "{Device}: guest misuse: {What} 0x{Value:X2} (occurrence {Count})")]
    public static partial void GuestMisuse(ILogger logger, string device, string what, byte value, long count);
}
