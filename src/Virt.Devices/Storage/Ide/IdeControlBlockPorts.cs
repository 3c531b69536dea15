using Virt.Memory;

namespace Virt.Devices;

/// <summary>
/// A channel's control block: the alternate status (read) and device control (write) register at
/// <paramref name="registerOffset"/> (0 at the legacy 3F6h/376h, 2 in a native-mode BAR of four ports).
/// </summary>
internal sealed class IdeControlBlockPorts(IdeChannel channel, int registerOffset, Func<bool> decoding) : IPortDevice
{
    private const byte OpenBus = 0xFF;

    public AccessWidths SupportedWidths => AccessWidths.Byte;

    public uint Read(ushort offset, int sizeInBytes) =>
        offset == registerOffset && decoding() ? channel.ReadAlternateStatus() : OpenBus;

    public void Write(ushort offset, int sizeInBytes, uint value)
    {
        if (offset == registerOffset && decoding())
        {
            channel.WriteDeviceControl((byte)value);
        }
    }
}
