using Virt.Memory;

namespace Virt.Devices;

/// <summary>The 16 bus-master IDE ports of BAR4: the primary channel's registers at 0-7, the secondary's at 8-15.</summary>
internal sealed class IdeBusMasterPorts(IdeChannel primary, IdeChannel secondary) : IPortDevice
{
    public AccessWidths SupportedWidths => AccessWidths.UpToDoubleWord;

    public uint Read(ushort offset, int sizeInBytes)
    {
        uint value = 0;
        for (int i = 0; i < sizeInBytes; i++)
        {
            int port = offset + i;
            IdeChannel channel = port < IdeChannel.BusMasterRegisterCount ? primary : secondary;
            value |= (uint)channel.ReadBusMaster(port % IdeChannel.BusMasterRegisterCount) << (8 * i);
        }

        return value;
    }

    public void Write(ushort offset, int sizeInBytes, uint value)
    {
        // Bytes go in ascending order, so a dword write to the PRD pointer is complete before anything could start.
        for (int i = 0; i < sizeInBytes; i++)
        {
            int port = offset + i;
            IdeChannel channel = port < IdeChannel.BusMasterRegisterCount ? primary : secondary;
            channel.WriteBusMaster(port % IdeChannel.BusMasterRegisterCount, (byte)(value >> (8 * i)));
        }
    }
}
