namespace Virt.Devices;

/// <summary>Options of the <see cref="PostCodePort"/>.</summary>
public sealed record PostCodePortOptions
{
    /// <summary>The port (80h on PCs).</summary>
    public ushort Port { get; init; } = 0x80;

    /// <summary>How many of the most recent codes <see cref="PostCodePort.GetHistory"/> keeps.</summary>
    public int HistoryCapacity { get; init; } = 256;

    /// <summary>The device name for messages.</summary>
    public string Name { get; init; } = "POST";
}
