namespace Virt.Devices;

/// <summary>Options of the <see cref="IsaDebugExit"/> device (QEMU's <c>-device isa-debug-exit,iobase=..,iosize=..</c>).</summary>
public sealed record IsaDebugExitOptions
{
    /// <summary>The first port (QEMU's default <c>iobase</c> is 501h).</summary>
    public ushort BasePort { get; init; } = 0x501;

    /// <summary>The number of ports (QEMU's default <c>iosize</c> is 2); a write to any of them exits.</summary>
    public int SizeInPorts { get; init; } = 2;

    /// <summary>The device name for messages and the exit reason.</summary>
    public string Name { get; init; } = "isa-debug-exit";
}
