using Virt.Memory;

namespace Virt.Devices;

/// <summary>A channel's command block (data, error/features, sector count, LBA, device, status/command) as a port window.</summary>
internal sealed class IdeCommandBlockPorts(IdeChannel channel, Func<bool> decoding) : IPortDevice
{
    private const uint OpenBus = 0xFFFF_FFFF;

    public AccessWidths SupportedWidths => AccessWidths.UpToDoubleWord;

    public uint Read(ushort offset, int sizeInBytes) =>
        decoding() ? channel.ReadCommandBlock(offset, sizeInBytes) : OpenBus >> (32 - (8 * sizeInBytes));

    public void Write(ushort offset, int sizeInBytes, uint value)
    {
        if (decoding())
        {
            channel.WriteCommandBlock(offset, sizeInBytes, value);
        }
    }
}
