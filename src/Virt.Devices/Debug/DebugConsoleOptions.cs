namespace Virt.Devices;

/// <summary>Options of the <see cref="DebugConsole"/>.</summary>
public sealed record DebugConsoleOptions
{
    /// <summary>The port (Bochs and QEMU use E9h).</summary>
    public ushort Port { get; init; } = 0xE9;

    /// <summary>The device name for messages.</summary>
    public string Name { get; init; } = "debugcon";
}
